"""The Tool Shed round trip's API calls (stdlib only; scripts/galaxy_shed_test.sh).

  shed.py bootstrap --url TOOL_SHED --bootstrap_key KEY --shed_yml tools/.shed.yml
      # creates the categories .shed.yml names and its owner (a user of that name), prints
      # OWNER=.. and KEY=.. (the owner's API key, for planemo shed_create / shed_update)
  shed.py install --galaxy_url URL --key ADMIN_KEY --tool_shed URL --name NAME --owner OWNER --tool_id ID
      # installs the newest installable revision of NAME from the Tool Shed into Galaxy, as an
      # admin does (POST /api/tool_shed_repositories), waits until it is installed, and prints
      # REVISION=.. and TOOL_ID=.. (the installed copy's tool id: TOOL_SHED/repos/OWNER/NAME/ID/VERSION)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bootstrap import request  # noqa: E402  (the same HTTP helper as the Galaxy bootstrap)


def read_shed_yml(path: str) -> tuple[str, list[str]]:
    """owner and categories of a .shed.yml (the two keys needed here; a line parser, so that the
    helper needs no PyYAML: `owner: NAME`, and `categories:` followed by `  - NAME` lines)."""
    owner, categories, in_categories = "", [], False
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            stripped = line.strip()
            if in_categories and stripped.startswith("- "):
                categories.append(stripped[2:].strip().strip("\"'"))
                continue
            in_categories = False
            if line.startswith("owner:"):
                owner = line.split(":", 1)[1].strip().strip("\"'")
            elif line.startswith("categories:"):
                in_categories = True
    if not owner:
        raise SystemExit(f"{path}: no owner: line")
    return owner, categories


def bootstrap(url: str, key: str, shed_yml: str) -> None:
    owner, categories = read_shed_yml(shed_yml)
    existing = {c["name"] for c in request(f"{url}/api/categories")}
    for name in categories:
        if name not in existing:
            request(f"{url}/api/categories?key={key}", {"name": name, "description": name})
    user = request(f"{url}/api/users?key={key}", {"username": owner, "email": f"{owner}@example.org",
                                                   "password": os.urandom(12).hex()})
    api_key = request(f"{url}/api/users/{user['id']}/api_key?key={key}", {})
    print(f"OWNER={owner}")
    print(f"KEY={api_key}")


def install(galaxy_url: str, key: str, tool_shed: str, name: str, owner: str, tool_id: str,
            timeout: float) -> None:
    query = urllib.parse.urlencode({"name": name, "owner": owner})
    revisions = request(f"{tool_shed}/api/repositories/get_ordered_installable_revisions?{query}")
    if not revisions:
        raise SystemExit(f"{tool_shed} has no installable revision of {owner}/{name}")
    revision = revisions[-1]
    installed = request(f"{galaxy_url}/api/tool_shed_repositories?key={key}", {
        "tool_shed_url": tool_shed, "name": name, "owner": owner, "changeset_revision": revision,
        "new_tool_panel_section_label": "Ludwig (from the Tool Shed)",
        "install_repository_dependencies": False, "install_tool_dependencies": False,
        "install_resolver_dependencies": False,
    }, timeout=timeout)
    if not isinstance(installed, list) or not installed:
        raise SystemExit(f"Galaxy installed nothing: {installed!r}")
    repo_id = installed[0]["id"]
    start = time.monotonic()
    while True:
        status = request(f"{galaxy_url}/api/tool_shed_repositories/{repo_id}?key={key}")["status"]
        if status == "Installed":
            break
        if status in ("Error", "Uninstalled", "Deactivated") or time.monotonic() - start > timeout:
            raise SystemExit(f"the repository's install status is {status!r}")
        time.sleep(2)
    # The installed copy's id: TOOL_SHED_HOST/repos/OWNER/NAME/TOOL_ID/VERSION (Galaxy's guid).
    tools = request(f"{galaxy_url}/api/tools?in_panel=false&key={key}")
    guids = [t["id"] for t in tools if f"/repos/{owner}/{name}/{tool_id}/" in t.get("id", "")]
    if not guids:
        raise SystemExit(f"no tool {tool_id} from {owner}/{name} in Galaxy's toolbox after the install")
    print(f"REVISION={revision}")
    print(f"TOOL_ID={guids[0]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    boot = sub.add_parser("bootstrap")
    boot.add_argument("--url", required=True)
    boot.add_argument("--bootstrap_key", required=True)
    boot.add_argument("--shed_yml", required=True)
    inst = sub.add_parser("install")
    inst.add_argument("--galaxy_url", required=True)
    inst.add_argument("--key", required=True)
    inst.add_argument("--tool_shed", required=True)
    inst.add_argument("--name", required=True)
    inst.add_argument("--owner", required=True)
    inst.add_argument("--tool_id", required=True)
    inst.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    try:
        if args.command == "bootstrap":
            bootstrap(args.url.rstrip("/"), args.bootstrap_key, args.shed_yml)
        else:
            install(args.galaxy_url.rstrip("/"), args.key, args.tool_shed.rstrip("/"), args.name, args.owner,
                    args.tool_id, args.timeout)
    except RuntimeError as exc:  # an HTTP error, with the server's message
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
