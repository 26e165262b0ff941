"""The alerting rules in deploy/prometheus are machine-checked: `promtool check rules` accepts
alerts.yml, `promtool test rules` passes alerts_test.yml, and every alert in alerts.yml has a
unit test in which it fires and one in which it must not.

Usage: prometheus_rules.py DIR (the deploy/prometheus directory). Exits 1 on any failure; a
missing promtool or PyYAML is a failure, never a skip (deploy/install-deps.sh installs both).
"""

import os
import shutil
import subprocess
import sys

failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'}  {name}" + (f": {detail}" if detail and not ok else ""),
          flush=True)
    if not ok:
        failures.append(name)
    return ok


def run_promtool(promtool, *args):
    proc = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120)
    output = (proc.stdout + proc.stderr).strip()
    check(f"promtool {' '.join(os.path.basename(a) for a in args)} succeeds",
          proc.returncode == 0, f"exit {proc.returncode} (output below)")
    print("      " + output.replace("\n", "\n      "), flush=True)


def alert_names(rules_path, yaml):
    with open(rules_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    return {rule["alert"] for group in doc.get("groups", []) for rule in group.get("rules", [])
            if "alert" in rule}


def cases_by_alert(tests_path, yaml):
    """{alertname: (fires somewhere, silent somewhere)} over every alert_rule_test."""
    with open(tests_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    cases = {}
    for test in doc.get("tests", []):
        for case in test.get("alert_rule_test", []) or []:
            fires, silent = cases.get(case["alertname"], (False, False))
            if case.get("exp_alerts"):
                fires = True
            else:
                silent = True
            cases[case["alertname"]] = (fires, silent)
    return cases


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    directory = sys.argv[1]
    rules, tests = os.path.join(directory, "alerts.yml"), os.path.join(directory, "alerts_test.yml")
    promtool = shutil.which("promtool")
    if check("promtool is installed (Debian package prometheus)", promtool is not None,
             "not on PATH; run deploy/install-deps.sh"):
        run_promtool(promtool, "check", "rules", rules)
        run_promtool(promtool, "test", "rules", tests)
    try:
        import yaml
    except ImportError:
        check("PyYAML is installed (Debian package python3-yaml)", False,
              "run deploy/install-deps.sh")
        yaml = None
    if yaml:
        names = alert_names(rules, yaml)
        check("alerts.yml defines alerts", bool(names))
        cases = cases_by_alert(tests, yaml)
        for name in sorted(names):
            fires, silent = cases.get(name, (False, False))
            check(f"{name} has a test where it fires", fires)
            check(f"{name} has a test where it must stay silent", silent)
        for name in sorted(set(cases) - names):
            check(f"alerts_test.yml tests only alerts that exist ({name})", False)
    if failures:
        print(f"\n{len(failures)} checks failed", flush=True)
        return 1
    print("\nall checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
