"""Load from ``wrk`` (a C client: the Python client cost as much CPU as the server on this
2-core machine, so it measured itself), shared by the benchmarks.

:func:`run` drives ``wrk`` with a Lua script and reads back requests, errors, the rate and the
p50 / p99 latency. :func:`posts_script` makes a script that POSTs a distinct body each time:
``{id}`` in the body template becomes a new UUID (unique per run, thread and request) and
``{n}`` a number that walks through ``spread`` values from ``first``, different on each
thread.
"""

import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path


def available() -> bool:
    return shutil.which("wrk") is not None


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run(base: str, script: str, *, workdir: Path, connections: int, seconds: int) -> dict:
    """``connections`` clients for ``seconds`` on two wrk threads: requests, errors, rate, p50
    and p99 in milliseconds."""
    path = workdir / f"load-{uuid.uuid4().hex[:8]}.lua"
    path.write_text(script)
    output = subprocess.run(
        [
            "wrk",
            "--threads",
            "2",
            "--connections",
            str(connections),
            "--duration",
            f"{seconds}s",
            "--latency",
            "--script",
            str(path),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    if not re.search(r"^\s+99%\s+(\S+)\s*$", output, re.M):
        raise SystemExit(f"wrk gave no latencies:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _milliseconds(re.search(r"^\s+50%\s+(\S+)\s*$", output, re.M).group(1)),
        "p99": _milliseconds(re.search(r"^\s+99%\s+(\S+)\s*$", output, re.M).group(1)),
    }


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def get_script(path: str, headers: dict[str, str]) -> str:
    """GET ``path`` with ``headers``, again and again."""
    return f"""
wrk.method = "GET"
wrk.path = {_lua_string(path)}
{"".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}{chr(10)}" for k, v in headers.items())}
"""


def posts_script(
    path: str, headers: dict[str, str], body: str, *, spread: int, first: int = 0
) -> str:
    """POST ``body`` to ``path``, each time with a new ``{id}`` and the next ``{n}``."""
    run_id = uuid.uuid4().hex[:8]
    pieces = re.split(r"(\{id\}|\{n\})", body)
    parts = ", ".join(
        "id" if piece == "{id}" else "tostring(n)" if piece == "{n}" else _lua_string(piece)
        for piece in pieces
        if piece
    )
    header_lines = "".join(
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}\n" for k, v in headers.items()
    )
    return f"""
{header_lines}
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local counter = 0
request = function()
  counter = counter + 1
  local id = string.format("{run_id}-%04x-4000-8000-%012x", tid, counter)
  local n = {first} + (counter * 2 + tid) % {spread}
  return wrk.format("POST", {_lua_string(path)}, nil, table.concat({{{parts}}}))
end
"""
