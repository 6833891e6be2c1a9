"""Query parameters are each given once: ``?nik=A&nik=B`` is a 422, never silently ``A``.

Parsers disagree on a repeated parameter (the first wins here, the last elsewhere), so a
proxy, an access log and the service could each read a different filter. One rule serves
every reader of a query: the API's views through their webargs parser (``QueryBlueprint``),
the web pages through ``refuse_repeated_parameters``; both answer ``422 INVALID_FILTER``
with ``errors`` naming each repeated parameter.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import flask
import marshmallow
from flask import request
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict

from service.errors import Problem

REPEATED = "Parameter ini diberikan lebih dari sekali."
HOLDS_NUL = "Parameter ini berisi karakter NUL (%00)."
# A parameter name shown in a page's detail is cut to this many characters.
SHOWN_NAME_CHARS = 64


def repeated_parameters(
    args: MultiDict[str, str], multiple: Collection[str] = ()
) -> dict[str, list[str]]:
    """The message of each parameter given more than once (``multiple`` may repeat)."""
    return {
        name: [REPEATED]
        for name, values in args.lists()
        if len(values) > 1 and name not in multiple
    }


def parameters_holding_nul(args: MultiDict[str, str]) -> dict[str, list[str]]:
    """The message of each parameter whose name or value holds a NUL character.

    PostgreSQL cannot compare or store text with NUL: a filter holding one failed the
    query, which answered a false 503 as if the database were down.
    """
    return {
        name: [HOLDS_NUL]
        for name, values in args.lists()
        if "\x00" in name or any("\x00" in value for value in values)
    }


class QueryParser(FlaskParser):
    """webargs' Flask parser, refusing a parameter given twice or holding NUL as invalid.

    The error takes webargs' usual way to the 422 (``service.errors``), so such a
    parameter reads like any other invalid one, after the key was checked.
    """

    def load_querystring(self, req: flask.Request, schema: marshmallow.Schema) -> Any:
        """The query as webargs reads it, once no parameter is repeated or holds NUL."""
        proxy = super().load_querystring(req, schema)
        errors = {
            **parameters_holding_nul(req.args),
            **repeated_parameters(req.args, proxy.multiple_keys),
        }
        if errors:
            raise marshmallow.ValidationError(errors)
        return proxy


class QueryBlueprint(Blueprint):  # type: ignore[misc]
    """A flask-smorest blueprint whose views' query arguments may not repeat."""

    ARGUMENTS_PARSER = QueryParser()


def refuse_repeated_parameters() -> None:
    """For a view that reads ``request.args`` itself: 422 naming a repeated parameter."""
    if not request.query_string:
        return
    if errors := repeated_parameters(request.args):
        names = ", ".join(f'"{name[:SHOWN_NAME_CHARS]}"' for name in errors)
        raise Problem(
            422,
            "INVALID_FILTER",
            f"Parameter {names} diberikan lebih dari sekali di alamat ini.",
            errors=errors,
        )
