"""Wait for a test Galaxy to answer, and create its admin and test users (stdlib only).

  bootstrap.py wait  --url URL --pid PID --timeout SECONDS
  bootstrap.py users --url URL --bootstrap_key KEY   # prints ADMIN_KEY=.. and USER_KEY=..
  bootstrap.py login --url URL --bootstrap_key KEY --email E --username U --password P
      # creates the user unless it exists (a kept database), prints API_KEY=.. for it
  bootstrap.py import-workflow --url URL --key USER_KEY WORKFLOW.ga
      # imports a workflow for that user, unless one of the same name is there; prints WORKFLOW_ID=..
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def request(url: str, payload: dict | None = None, timeout: float = 30.0, method: str | None = None):
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method=method or ("GET" if payload is None else "POST"))
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode() or "null")
    except urllib.error.HTTPError as exc:
        # Galaxy's error body names the problem ({"err_msg": ...}); keep it, drop the key from the URL.
        body = exc.read().decode(errors="replace")[:500]
        raise RuntimeError(f"{method or ('GET' if payload is None else 'POST')} {url.split('?')[0]}: "
                           f"HTTP {exc.code}: {body}") from None


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


def wait(url: str, pid: int, timeout: float, name: str = "Galaxy") -> int:
    start = time.monotonic()
    last_error = ""
    while time.monotonic() - start < timeout:
        if not pid_alive(pid):
            print(f"{name} process {pid} exited during startup", file=sys.stderr)
            return 1
        try:
            version = request(f"{url}/api/version", timeout=5)
            # Galaxy answers version_major and version_minor; the Tool Shed, version_major and version.
            number = version.get("version") or f"{version.get('version_major')}.{version.get('version_minor')}"
            print(
                f"{name} {number} answered after "
                f"{time.monotonic() - start:.0f} s",
                file=sys.stderr,
            )
            return 0
        except (urllib.error.URLError, OSError, ValueError, RuntimeError) as exc:
            last_error = str(exc)
        time.sleep(2)
    print(f"{name} did not answer {url}/api/version within {timeout:.0f} s (last error: {last_error})", file=sys.stderr)
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


def login(url: str, bootstrap_key: str, email: str, username: str, password: str) -> int:
    """A user who logs in through the web form: created with this password, or reused if present."""
    found = request(f"{url}/api/users?f_email={urllib.parse.quote(email)}&key={bootstrap_key}")
    found = [u for u in found or [] if u.get("email") == email]
    if found:
        user = found[0]
        print(f"user {email} already exists (kept database): its password is unchanged", file=sys.stderr)
    else:
        user = request(f"{url}/api/users?key={bootstrap_key}", {"username": username, "email": email, "password": password})
    key = request(f"{url}/api/users/{user['id']}/api_key?key={bootstrap_key}", {})
    if not isinstance(key, str) or not key:
        raise RuntimeError(f"unexpected API key answer for {email}: {key!r}")
    print(f"API_KEY={key}")
    return 0


def import_workflow(url: str, key: str, path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        workflow = json.load(fh)
    name = workflow.get("name") or os.path.basename(path)
    existing = request(f"{url}/api/workflows?key={key}")
    for item in existing or []:
        if item.get("name") == name and not item.get("deleted"):
            print(f"workflow {name!r} is already imported ({item['id']})", file=sys.stderr)
            print(f"WORKFLOW_ID={item['id']}")
            return 0
    answer = request(f"{url}/api/workflows?key={key}", {"workflow": workflow}, timeout=120)
    print(f"imported workflow {name!r} from {path} ({answer['id']})", file=sys.stderr)
    print(f"WORKFLOW_ID={answer['id']}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_wait = sub.add_parser("wait")
    p_wait.add_argument("--url", required=True)
    p_wait.add_argument("--pid", type=int, required=True)
    p_wait.add_argument("--timeout", type=float, default=600)
    p_wait.add_argument("--name", default="Galaxy", help="the server's name in the messages")
    p_users = sub.add_parser("users")
    p_users.add_argument("--url", required=True)
    p_users.add_argument("--bootstrap_key", required=True)
    p_login = sub.add_parser("login")
    p_login.add_argument("--url", required=True)
    p_login.add_argument("--bootstrap_key", required=True)
    p_login.add_argument("--email", required=True)
    p_login.add_argument("--username", required=True)
    p_login.add_argument("--password", required=True)
    p_import = sub.add_parser("import-workflow")
    p_import.add_argument("--url", required=True)
    p_import.add_argument("--key", required=True)
    p_import.add_argument("workflow")
    args = parser.parse_args()
    if args.command == "wait":
        return wait(args.url, args.pid, args.timeout, args.name)
    if args.command == "login":
        return login(args.url, args.bootstrap_key, args.email, args.username, args.password)
    if args.command == "import-workflow":
        try:
            return import_workflow(args.url, args.key, args.workflow)
        except (RuntimeError, OSError, ValueError) as exc:
            print(f"error: importing {args.workflow}: {exc}", file=sys.stderr)
            return 1
    return users(args.url, args.bootstrap_key)


if __name__ == "__main__":
    sys.exit(main())
