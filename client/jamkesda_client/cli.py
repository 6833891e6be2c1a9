"""``jamkesda-check NIK``: one eligibility check, printed for a clerk at a terminal.

Exit codes: 0 covered (ELIGIBLE or COVERED_BY_JKN), 3 NOT_ELIGIBLE, 4 UNDETERMINED (not a
denial: no decision could be made), 1 no decision because of an error (an error answer, or
no answer), 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TextIO

from jamkesda_client.client import Client
from jamkesda_client.errors import ProblemError, TransportError, UnexpectedResponseError
from jamkesda_client.results import CheckResult

EXIT_COVERED = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_ELIGIBLE = 3
EXIT_UNDETERMINED = 4

SERVICE_TYPES = ("outpatient", "inpatient", "emergency")
WIDTH = 78
WITA = timedelta(hours=8)

# What the clerk reads first, in Indonesian; the API's code follows in brackets.
DECISION_LABELS = {
    "ELIGIBLE": "DITANGGUNG JAMKESDA",
    "COVERED_BY_JKN": "DITANGGUNG BPJS KESEHATAN (JKN)",
    "NOT_ELIGIBLE": "TIDAK DITANGGUNG JAMKESDA",
    "UNDETERMINED": "BELUM DAPAT DIPASTIKAN (bukan penolakan)",
}

EPILOG = """\
exit codes:
  0  covered: ELIGIBLE or COVERED_BY_JKN
  3  NOT_ELIGIBLE
  4  UNDETERMINED (no decision could be made: not a denial)
  1  error: the service refused the request (e.g. INVALID_NIK, 401) or did not answer
  2  bad usage

The key is best given in JAMKESDA_KEY: a --key on the command line is visible to other
users of the machine.
"""


def _parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    parser = argparse.ArgumentParser(
        prog="jamkesda-check",
        description="Check whether a NIK is covered by Jamkesda Kutai Kartanegara today.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("nik", help="the 16-digit NIK from the KTP (spaces and dots allowed)")
    parser.add_argument(
        "--url",
        default=os.environ.get("JAMKESDA_URL"),
        help="the service's address (default: $JAMKESDA_URL)",
    )
    parser.add_argument(
        "--key", default=os.environ.get("JAMKESDA_KEY"), help="API key (default: $JAMKESDA_KEY)"
    )
    parser.add_argument("--service-type", choices=SERVICE_TYPES, help="default: outpatient")
    parser.add_argument(
        "--service-date",
        type=_iso_date,
        help="date of care, YYYY-MM-DD (default: today in WITA)",
    )
    parser.add_argument("--operator-id", help="the clerk's user name, recorded with the check")
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        help="seconds to wait for each attempt (default: 10)",
    )
    return parser


def _iso_date(text: str) -> date:
    """A ``YYYY-MM-DD`` argument."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _seconds(text: str) -> float:
    """A positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value


def _paragraph(label: str, text: str) -> str:
    """A labelled paragraph wrapped for a terminal, its lines after the first indented."""
    return textwrap.fill(f"{label}: {text}", width=WIDTH, subsequent_indent="    ")


def _clock_time(moment: datetime) -> str:
    """A time as a clerk reads it: in WITA by name, any other offset as digits."""
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.utcoffset() == WITA:
        return f"{text} WITA"
    return f"{text} {moment.strftime('%z')}".rstrip()


def render(result: CheckResult) -> str:
    """The answer as the clerk reads it: decision, reasons, reference, how to object."""
    label = DECISION_LABELS.get(result.decision, result.decision)
    lines: list[str] = [f"KEPUTUSAN: {label} [{result.decision}]"]
    if result.coverage is not None:
        coverage = f"{result.coverage.scheme}, kelas {result.coverage.class_ or '-'}"
        if result.coverage.valid_until is not None:
            coverage += f", berlaku sampai {result.coverage.valid_until.isoformat()}"
        lines.append(f"Penjaminan: {coverage}")
    if result.reasons:
        lines.append("Alasan:")
        lines.extend(
            textwrap.fill(
                f"- [{reason.code}] {reason.message}",
                width=WIDTH,
                initial_indent="  ",
                subsequent_indent="    ",
            )
            for reason in result.reasons
        )
    lines.append(f"Nomor referensi: {result.check_id}")
    lines.append(f"Waktu pemeriksaan: {_clock_time(result.decided_at)}")
    if result.emergency_notice:
        lines.append(_paragraph("GAWAT DARURAT", result.emergency_notice))
    if result.dispute is not None:
        lines.append(_paragraph("Keberatan", result.dispute.message))
    return "\n".join(lines)


def exit_code(result: CheckResult) -> int:
    """0 covered, 3 not eligible, 4 anything else (undetermined: not a denial)."""
    if result.eligible:
        return EXIT_COVERED
    if result.decision == "NOT_ELIGIBLE":
        return EXIT_NOT_ELIGIBLE
    return EXIT_UNDETERMINED


def _report_problem(problem: ProblemError, err: TextIO) -> None:
    """An error answer on stderr: its detail, code and, when recorded, its reference."""
    print(f"Pemeriksaan gagal: {problem.detail}", file=err)
    print(f"Kode: {problem.code or '-'} (HTTP {problem.status})", file=err)
    for field, messages in problem.errors.items():
        print(f"  {field}: {' '.join(messages)}", file=err)
    if problem.check_id:
        print(f"Nomor referensi: {problem.check_id}", file=err)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one check; the exit code says what was decided (see the module's docstring)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("the service's address is missing: give --url or set JAMKESDA_URL")
    if not args.key:
        parser.error("the API key is missing: set JAMKESDA_KEY or give --key")
    try:
        with Client(args.url, args.key, timeout=args.timeout) as client:
            result = client.check(
                args.nik,
                service_date=args.service_date,
                service_type=args.service_type,
                operator_id=args.operator_id,
            )
    except ValueError as exc:
        parser.error(str(exc))
    except ProblemError as problem:
        _report_problem(problem, sys.stderr)
        return EXIT_ERROR
    except TransportError as exc:
        print(f"Layanan tidak dapat dihubungi: {exc}", file=sys.stderr)
        print("Ini bukan penolakan: ulangi sebentar lagi.", file=sys.stderr)
        return EXIT_ERROR
    except UnexpectedResponseError as exc:
        print(f"Jawaban layanan tidak dapat dibaca: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(render(result))
    return exit_code(result)


if __name__ == "__main__":
    sys.exit(main())
