"""The pack's HTTP route `POST /semanticgen/plan` through the real ComfyUI server: a plan for valid bodies,
a 400 naming the field for anything malformed, and the server unharmed afterwards."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.api

VALID = {
    "latent_generator": "toy_latent_generator.safetensors",
    "semantic_generator": "toy_semantic_generator.safetensors",
    "width": 64,
    "height": 64,
    "frames": 17,
    "attention": "full",
    "window": 8,
    "blocks_to_swap": 0,
    "dtype": "auto",
    "device_memory": "8 GB",
    "steps": 20,
    "cfg": 5.0,
    "sampler": "euler",
}


def post_raw(server, path: str, data: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(server.url + path, data=data, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_valid_request_returns_the_plan(server):
    for path in ("/semanticgen/plan", "/api/semanticgen/plan"):  # the frontend's api.fetchApi uses /api
        status, body = server.post(path, VALID)
        assert status == 200, body
        assert [s["stage"] for s in body["stages"]] == ["semantic generator", "latent generator"]
        assert body["fits"] is True and body["budget"] == 8 * 10**9 and body["advice"] == []
        assert body["peak"] == max(s["peak"] for s in body["stages"]) > 0


def test_estimate_grows_with_the_video_and_one_generator_is_enough(server):
    small = server.post("/semanticgen/plan", {**VALID, "latent_generator": "none"})[1]
    large = server.post("/semanticgen/plan", {**VALID, "latent_generator": "none", "width": 256, "frames": 65})[1]
    assert [s["stage"] for s in small["stages"]] == ["semantic generator"]
    assert large["peak"] > small["peak"]
    assert large["stages"][0]["seconds"] > small["stages"][0]["seconds"] > 0


def test_time_estimate_counts_the_model_calls(server):
    """Each stage's seconds scale with the DiT forwards: steps, Heun's second call, guidance's negative branch."""

    def seconds(**kw) -> list[float]:
        status, body = server.post("/semanticgen/plan", {**VALID, **kw})
        assert status == 200, body
        assert "compute-bound estimate" in body["text"] and "latent generator ≈ " in body["text"]
        return [s["seconds"] for s in body["stages"]]

    base = seconds(steps=10, cfg=5.0)
    for kw, factor in (({"steps": 20, "cfg": 5.0}, 2.0), ({"steps": 10, "cfg": 1.0}, 0.5),
                       ({"steps": 10, "cfg": 5.0, "sampler": "heun"}, 1.9)):  # fmt: skip
        for a, b in zip(seconds(**kw), base, strict=True):
            assert a == pytest.approx(factor * b, rel=0.01), (kw, a, b)


def test_what_no_setting_makes_fit_is_said(server):
    status, body = server.post("/semanticgen/plan", {**VALID, "width": 4096, "height": 4096, "frames": 8193})
    assert status == 200 and body["fits"] is False and body["advice"] == []
    assert "does not fit in 7.45 GiB: no setting is enough" in body["text"]


def test_what_a_setting_makes_fit_is_advised(server):
    # the tiny test generators at 2048² × 1321 frames: 8.09 GB with full attention (every token's keys and values
    # held), under 8 GB with Swin
    status, body = server.post("/semanticgen/plan", {**VALID, "width": 2048, "height": 2048, "frames": 1321})
    assert status == 200, body
    assert body["advice"] == ["attention swin with window ≤ 44"], body["advice"]
    assert body["fits"] is False and body["advice"] and f"does not fit in 7.45 GiB: {body['advice'][0]}" in body["text"]


MALFORMED = [
    ("frames", {**VALID, "frames": -1}, "frames: expected an integer in 1..8193, got -1"),
    ("frames", {**VALID, "frames": 8197}, "frames: expected an integer in 1..8193"),
    ("width", {**VALID, "width": "832"}, "width: expected an integer, got a string"),
    ("height", {**VALID, "height": 480.0}, "height: expected an integer, got a number"),
    ("window", {**VALID, "window": True}, "window: expected an integer, got a boolean"),
    ("blocks_to_swap", {k: v for k, v in VALID.items() if k != "blocks_to_swap"}, "blocks_to_swap: missing"),
    ("latent_generator", {**VALID, "latent_generator": "../../x"}, "latent_generator: '../../x' is not one of"),
    ("semantic_generator", {**VALID, "semantic_generator": "/etc/passwd"}, "semantic_generator: '/etc/passwd'"),
    ("latent_generator", {**VALID, "latent_generator": "none", "semantic_generator": "none"}, "at least one"),
    ("device_memory", {**VALID, "device_memory": "1 TB"}, "device_memory: '1 TB' is not one of"),
    ("attention", {**VALID, "attention": ["swin"]}, "attention: expected a string, got an array"),
    ("dtype", {**VALID, "dtype": "int4"}, "dtype: 'int4' is not one of"),
    ("seed", {**VALID, "seed": 3}, "seed: unknown field"),
    ("steps", {**VALID, "steps": 0}, "steps: expected an integer in 1..200, got 0"),
    ("cfg", {**VALID, "cfg": "5"}, "cfg: expected a number, got a string"),
    ("cfg", {**VALID, "cfg": 0.5}, "cfg: expected a number in 1.0..30.0, got 0.5"),
    ("sampler", {**VALID, "sampler": "dpm"}, "sampler: 'dpm' is not one of"),
    ("body", [VALID], "body: expected a JSON object, got an array"),
]


@pytest.mark.parametrize("field, body, expected", MALFORMED, ids=[f"{m[0]}-{i}" for i, m in enumerate(MALFORMED)])
def test_malformed_request_is_refused_naming_the_field(server, field, body, expected):
    status, reply = server.post("/semanticgen/plan", body)
    assert status == 400, reply
    assert set(reply) == {"error"} and reply["error"].startswith(f"{field}: ")
    assert expected in reply["error"], reply["error"]


@pytest.mark.parametrize("data", [b"{not json", b"", b"\xff\xfe", b"null"])
def test_body_that_is_not_a_json_object_is_refused(server, data):
    status, reply = post_raw(server, "/semanticgen/plan", data)
    assert status == 400 and reply["error"].startswith("body: expected a JSON object"), reply


def test_server_still_serves_after_malformed_requests(server):
    log_before = len(server.log())
    for data in (b"{", b"[]", b'{"width": 1e999}', b'{"frames": NaN}'):
        assert post_raw(server, "/semanticgen/plan", data)[0] == 400
    for _, body, _ in MALFORMED:
        assert server.post("/semanticgen/plan", body)[0] == 400
    assert server.post("/semanticgen/plan", VALID)[0] == 200
    assert server.get("/object_info/SemanticGenMemoryPlan")[0] == 200
    assert "Traceback" not in server.log()[log_before:]
