"""Wait for a test Galaxy to answer, and create its admin and test users (stdlib only).

  bootstrap.py wait  --url URL --pid PID --timeout SECONDS
  bootstrap.py users --url URL --bootstrap_key KEY   # prints ADMIN_KEY=.. and USER_KEY=..
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request


def request(url: str, payload: dict | None = None, timeout: float = 30.0):
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method="GET" if payload is None else "POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read().decode() or "null")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by the shell) is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def wait(url: str, pid: int, timeout: float) -> int:
    start = time.monotonic()
    last_error = ""
    while time.monotonic() - start < timeout:
        if not pid_alive(pid):
            print(f"Galaxy process {pid} exited during startup", file=sys.stderr)
            return 1
        try:
            version = request(f"{url}/api/version", timeout=5)
            print(
                f"Galaxy {version.get('version_major')}.{version.get('version_minor')} answered after "
                f"{time.monotonic() - start:.0f} s",
                file=sys.stderr,
            )
            return 0
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last_error = str(exc)
        time.sleep(2)
    print(f"Galaxy did not answer {url}/api/version within {timeout:.0f} s (last error: {last_error})", file=sys.stderr)
    return 1


def create_user_key(url: str, bootstrap_key: str, username: str, email: str) -> str:
    password = os.urandom(12).hex()
    user = request(f"{url}/api/users?key={bootstrap_key}", {"username": username, "email": email, "password": password})
    key = request(f"{url}/api/users/{user['id']}/api_key?key={bootstrap_key}", {})
    if not isinstance(key, str) or not key:
        raise RuntimeError(f"unexpected API key answer for {email}: {key!r}")
    return key


def users(url: str, bootstrap_key: str) -> int:
    # admin@example.org is in admin_users of the generated galaxy.yml.
    admin_key = create_user_key(url, bootstrap_key, "admin", "admin@example.org")
    user_key = create_user_key(url, bootstrap_key, "tester", "tester@example.org")
    print(f"ADMIN_KEY={admin_key}")
    print(f"USER_KEY={user_key}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_wait = sub.add_parser("wait")
    p_wait.add_argument("--url", required=True)
    p_wait.add_argument("--pid", type=int, required=True)
    p_wait.add_argument("--timeout", type=float, default=600)
    p_users = sub.add_parser("users")
    p_users.add_argument("--url", required=True)
    p_users.add_argument("--bootstrap_key", required=True)
    args = parser.parse_args()
    if args.command == "wait":
        return wait(args.url, args.pid, args.timeout)
    return users(args.url, args.bootstrap_key)


if __name__ == "__main__":
    sys.exit(main())
