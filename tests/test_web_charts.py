"""The console's inline SVG charts (``service.web.charts``): proportional, labelled, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from service.web.charts import (
    BAR_WIDTH,
    BASELINE,
    NO_DATA,
    PLOT_HEIGHT,
    Bar,
    bar_chart,
    column_chart,
    scale_top,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>window.__x=1</script>\"'&amp;"


def parsed(markup: str) -> ET.Element:
    """The chart as an XML tree: it must be well-formed SVG."""
    return ET.fromstring(markup)


def bars_of(svg: ET.Element) -> list[ET.Element]:
    """The drawn bars (``<rect>`` in ``<g class="bar">``), in order."""
    return [rect for group in svg.iter(f"{SVG}g") for rect in group.iter(f"{SVG}rect")]


def texts_of(svg: ET.Element) -> list[str]:
    """Every text the chart writes, titles and descriptions included."""
    return [
        element.text or ""
        for element in svg.iter()
        if element.tag in (f"{SVG}text", f"{SVG}title", f"{SVG}desc")
    ]


@pytest.mark.parametrize(
    ("rates", "top"),
    [
        ([], 0.05),
        ([None, None], 0.05),
        ([0.0], 0.05),
        ([0.03, None], 0.05),
        ([0.05], 0.05),
        ([0.051], 0.1),
        ([0.12, 0.2], 0.2),
        ([0.21], 0.25),
        ([0.3], 0.5),
        ([0.75, 0.1], 1.0),
        ([1.0], 1.0),
    ],
)
def test_the_scale_is_the_smallest_step_that_holds_every_rate(
    rates: list[float | None], top: float
) -> None:
    assert scale_top(rates) == top


def test_column_heights_are_proportional_to_the_rates() -> None:
    rates = [0.1, 0.2, None, 0.05, 0.15]
    svg = parsed(column_chart("Per hari", [Bar(f"{n} Mar", rate) for n, rate in enumerate(rates)]))
    heights = [float(rect.get("height", "")) for rect in bars_of(svg)]
    drawn = [rate for rate in rates if rate is not None]
    # The scale's top is 20%: a column of 20% fills the plot, the others in proportion.
    assert heights == pytest.approx([rate / 0.2 * PLOT_HEIGHT for rate in drawn], abs=0.01)
    for rect in bars_of(svg):
        bottom = float(rect.get("y", "")) + float(rect.get("height", ""))
        assert bottom == pytest.approx(BASELINE, abs=0.01)


def test_a_given_top_puts_side_by_side_charts_on_one_scale() -> None:
    svg = parsed(column_chart("Per hari", [Bar("1 Mar", 0.1)], top=0.5))
    assert [float(rect.get("height", "")) for rect in bars_of(svg)] == pytest.approx(
        [0.1 / 0.5 * PLOT_HEIGHT], abs=0.01
    )
    assert "50,0%" in texts_of(svg)


def test_a_day_at_zero_percent_is_marked_by_a_dot_on_the_baseline() -> None:
    svg = parsed(
        column_chart("Per hari", [Bar("1 Mar", 0.0), Bar("2 Mar", 0.1), Bar("3 Mar", None)])
    )
    dots = [(float(c.get("cx", "")), float(c.get("cy", ""))) for c in svg.iter(f"{SVG}circle")]
    assert len(dots) == 2
    assert dots[0][1] == pytest.approx(BASELINE)
    assert float(bars_of(svg)[0].get("height", "")) == 0


def test_facility_bar_lengths_are_proportional_to_the_rates() -> None:
    rates = [0.5, 0.25, None, 0.125]
    svg = parsed(bar_chart("Per fasilitas", [Bar(f"F{n}", rate) for n, rate in enumerate(rates)]))
    widths = [float(rect.get("width", "")) for rect in bars_of(svg)]
    assert widths == pytest.approx([BAR_WIDTH, BAR_WIDTH / 2, BAR_WIDTH / 4], abs=0.01)
    assert "tidak ada keputusan" in texts_of(svg)
    assert {"50,0%", "25,0%", "12,5%"} <= set(texts_of(svg))


@pytest.mark.parametrize("bars", [[], [Bar("1 Mar", None), Bar("2 Mar", None)]])
def test_a_chart_without_decisions_says_there_is_no_data(bars: list[Bar]) -> None:
    for chart in (column_chart("Per hari", bars), bar_chart("Per fasilitas", bars)):
        svg = parsed(chart)
        assert bars_of(svg) == []
        assert NO_DATA in texts_of(svg)
        assert NO_DATA in svg.get("aria-label", "")


def test_every_chart_names_itself_for_screen_readers() -> None:
    for chart in (
        column_chart("Tingkat penolakan per hari: Puskesmas X", [Bar("1 Mar", 0.25)]),
        bar_chart("Tingkat penolakan per fasilitas", [Bar("Puskesmas X", 0.25)]),
        column_chart("Tingkat penolakan per hari: Puskesmas X", []),
    ):
        svg = parsed(chart)
        assert svg.get("role") == "img"
        title = svg.find(f"{SVG}title")
        assert title is not None
        assert title.text
        assert svg.get("aria-label", "").startswith(title.text)


def test_texts_from_data_are_escaped_and_read_back_unchanged() -> None:
    charts = [
        column_chart(HOSTILE, [Bar(HOSTILE, 0.5, note=HOSTILE)]),
        bar_chart(HOSTILE, [Bar(HOSTILE, 0.5, note=HOSTILE), Bar(HOSTILE, None)]),
    ]
    for chart in charts:
        assert "<script>" not in chart
        svg = parsed(chart)  # Well-formed: no text broke out of its element or attribute.
        assert not list(svg.iter("script"))
        assert not list(svg.iter(f"{SVG}script"))
        assert any(text.startswith(HOSTILE) for text in texts_of(svg))
        assert svg.get("aria-label", "").startswith(HOSTILE)


def test_a_long_facility_name_is_shortened_beside_its_bar_and_whole_in_its_tooltip() -> None:
    name = "Rumah Sakit Umum Daerah Aji Muhammad Parikesit Tenggarong"
    svg = parsed(bar_chart("Per fasilitas", [Bar(name, 0.2)]))
    assert f"{name[:29]}…" in texts_of(svg)
    tooltip = bars_of(svg)[0].find(f"{SVG}title")
    assert tooltip is not None
    assert tooltip.text == f"{name}: 20,0%"


def test_charts_use_no_style_attribute_which_the_pages_policy_forbids() -> None:
    for chart in (column_chart("x", [Bar("1 Mar", 0.1)]), bar_chart("x", [Bar("F", 0.1)])):
        assert "style=" not in chart
        assert all("style" not in element.attrib for element in parsed(chart).iter())
