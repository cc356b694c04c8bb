"""Asserts through Phoenix's REST API that each trajectory of a run is one
trace with the span tree of docs/telemetry.md and GenAI attributes set.

usage: check_phoenix_traces.py PHOENIX_URL TRAJECTORIES_JSONL
"""
import json
import sys
import time
import urllib.parse
import urllib.request


# The step spans each supervisor state judges (a verdict's parent).
JUDGED = {
    "check_plan": ("step plan",),
    "check_toolcall": ("step tool_call", "step tool_result"),
    "check_report": ("step report",),
}


def flatten(d, prefix=""):
    """Phoenix nests dotted attribute keys; flatten them back."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def spans(base):
    found, cursor = [], None
    while True:
        query = {"limit": 1000}
        if cursor:
            query["cursor"] = cursor
        url = f"{base}/v1/projects/default/spans?{urllib.parse.urlencode(query)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            page = json.load(r)
        found.extend(page["data"])
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def main():
    base, trajectories_file = sys.argv[1], sys.argv[2]
    trajectories = [json.loads(line) for line in open(trajectories_file) if line.strip()]
    assert trajectories, "the run wrote no trajectory"
    wanted = {t["trace_id"] for t in trajectories}
    # Phoenix ingests asynchronously: wait until every trajectory's root arrived.
    deadline = time.time() + 60
    while True:
        all_spans = spans(base)
        roots = [s for s in all_spans if s["name"] == "trajectory"]
        if {s["context"]["trace_id"] for s in roots} >= wanted or time.time() > deadline:
            break
        time.sleep(1)
    by_trace = {}
    for s in all_spans:
        s["attributes"] = flatten(s.get("attributes") or {})
        by_trace.setdefault(s["context"]["trace_id"], []).append(s)
    for t in trajectories:
        trace = by_trace.get(t["trace_id"])
        assert trace, f"trajectory {t['trajectory_id']}: no trace {t['trace_id']} in phoenix"
        names = {s["name"] for s in trace}
        by_id = {s["context"]["span_id"]: s for s in trace}
        parent = lambda s: by_id.get(s.get("parent_id") or "", {}).get("name", "")
        roots = [s for s in trace if s["name"] == "trajectory"]
        assert len(roots) == 1, f"{t['trajectory_id']}: {len(roots)} trajectory spans in its trace"
        root = roots[0]
        assert root["attributes"].get("productresearch.trajectory.id") == t["trajectory_id"], root["attributes"]
        assert root["attributes"].get("productresearch.termination.reason"), root["attributes"]
        for expected in ["invoke_agent user-agent", "round 1", "step plan", "step tool_call", "step tool_result", "step report", "verdict check_plan", "verdict check_report"]:
            assert expected in names, f"{t['trajectory_id']}: no span {expected!r}: {sorted(names)}"
        chats = [s for s in trace if s["name"].startswith("chat ")]
        assert chats, "no chat span"
        for s in trace:
            a, p = s["attributes"], parent(s)
            if s["name"].startswith("step "):
                assert p.startswith("round "), f"{s['name']} under {p!r}"
                verdicts = [v for v in trace if v["name"].startswith("verdict ") and v.get("parent_id") == s["context"]["span_id"]]
                if s["name"] == "step tool_result":
                    # Results are recorded without a verdict round trip unless
                    # `supervisor.check_results` is set (it is not in this run).
                    assert not verdicts, f"{s['name']} has verdict spans under it ({[v['name'] for v in verdicts]}); results are not checked by default"
                    continue
                # A cap can end a trajectory on a step that is never judged.
                approved = root["attributes"].get("productresearch.termination.reason") == "approved"
                assert len(verdicts) == 1 if approved else len(verdicts) <= 1, f"{s['name']} has {len(verdicts)} verdict spans under it"
            if s["name"].startswith("verdict "):
                # The verdict is a child of the agent's span of the step it judges.
                judged = JUDGED.get(a.get("productresearch.supervisor.state"), ())
                assert p in judged, f"{s['name']} under {p!r}"
            if s["name"].startswith("chat "):
                assert p.startswith("step ") or p.startswith("verdict ") or p == "invoke_agent user-agent", f"{s['name']} under {p!r}"
                for key in ["gen_ai.operation.name", "gen_ai.request.model", "gen_ai.response.model", "gen_ai.agent.name", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"]:
                    assert key in a, f"{s['name']}: no {key}: {sorted(a)}"
            if s["name"].startswith("execute_tool ") and a.get("gen_ai.agent.name") == "research-agent":
                assert p == "step tool_result", f"{s['name']} under {p!r}"
                assert a.get("gen_ai.tool.name") and a.get("gen_ai.tool.call.id"), a
        agents = {s["attributes"].get("gen_ai.agent.name") for s in chats}
        assert agents >= {"user-agent", "research-agent", "supervisor"}, agents
    print(f"phoenix: {len(trajectories)} trajectories, each one trace with the expected span tree ({len(all_spans)} spans)")


if __name__ == "__main__":
    main()
