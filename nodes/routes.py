"""`POST /semanticgen/plan`: the Memory Plan node's estimate over HTTP, for the frontend's live memory line.

The body is checked against the Memory Plan node's own inputs (integer ranges, combo options, model names only
from the registered folders); unknown keys, missing keys and wrong types are refused. Every refusal is a 400 with
`{"error": "<field>: what was expected"}`; a valid body gets `plan_run`'s dict.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from aiohttp import web
from comfy_api.latest import io

from .models import check_choice
from .plan import MemoryPlan, plan_run

ROUTE = "/semanticgen/plan"
log = logging.getLogger(__name__)
JSON_TYPES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


class BadRequest(ValueError):
    """A refusal of the request body; the message starts with the field it is about."""


def json_type(value: object) -> str:
    return JSON_TYPES.get(type(value), type(value).__name__)


def parse_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except ValueError:  # also UnicodeDecodeError
        raise BadRequest("body: expected a JSON object, got text that is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest(f"body: expected a JSON object, got {json_type(body)}")
    return body


def check_field(name: str, spec: io.Input, value: object) -> None:
    if isinstance(spec, io.Int.Input):
        if type(value) is not int:  # bool is an int in Python, not in JSON
            raise BadRequest(f"{name}: expected an integer, got {json_type(value)}")
        if not spec.min <= value <= spec.max:
            raise BadRequest(f"{name}: expected an integer in {spec.min}..{spec.max}, got {value}")
    elif isinstance(spec, io.Float.Input):
        if type(value) not in (int, float):
            raise BadRequest(f"{name}: expected a number, got {json_type(value)}")
        if not spec.min <= value <= spec.max:  # also NaN (json.loads accepts NaN and Infinity)
            raise BadRequest(f"{name}: expected a number in {spec.min}..{spec.max}, got {value}")
    elif isinstance(spec, io.Combo.Input):
        if not isinstance(value, str):
            raise BadRequest(f"{name}: expected a string, got {json_type(value)}")
        if (msg := check_choice(name, value, spec.options)) is not True:
            raise BadRequest(msg)
    else:
        raise TypeError(f"{name}: no request check for {type(spec).__name__}")  # a new Memory Plan input kind


def plan_arguments(body: dict) -> dict:
    """`plan_run`'s keyword arguments from a request body: exactly the Memory Plan node's inputs, each valid."""
    inputs = {spec.id: spec for spec in MemoryPlan.define_schema().inputs}  # model lists read now, not at import
    if unknown := sorted(set(body) - set(inputs)):
        raise BadRequest(f"{unknown[0]}: unknown field (expected only {', '.join(inputs)})")
    for name, spec in inputs.items():
        if name not in body:
            raise BadRequest(f"{name}: missing")
        check_field(name, spec, body[name])
    return body


async def plan(request: web.Request) -> web.Response:
    try:
        args = plan_arguments(parse_body(await request.read()))
        result = await asyncio.to_thread(plan_run, **args)  # reads checkpoint headers: off the event loop
    except ValueError as e:  # ours, and plan_run's own refusals ("latent_generator: ...")
        return web.json_response({"error": str(e)}, status=400)
    except Exception as e:  # a bug, not the request: logged, and still JSON for the frontend to show
        log.exception("SemanticGen: %s failed", ROUTE)
        return web.json_response({"error": f"planner: {type(e).__name__}: {e}"}, status=500)
    return web.json_response(result)


def register_routes() -> None:
    """Add the route to ComfyUI's server. Custom nodes load before the server builds its route table, so it is
    served at /semanticgen/plan and /api/semanticgen/plan. Outside a running ComfyUI (in-process tests, where
    importing `server` would pull in the whole host) there is no server and nothing to do."""
    server = sys.modules.get("server")
    instance = getattr(getattr(server, "PromptServer", None), "instance", None)
    if instance is not None:
        instance.routes.post(ROUTE)(plan)
