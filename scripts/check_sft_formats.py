"""Loads the distiller's exported JSONL files with Hugging Face `datasets` and
renders the OpenAI-format examples through a real Qwen chat template: the one
embedded in the local model's GGUF file (`tokenizer.chat_template`), or the
Qwen2.5 template below when no model file is present. Asserts that every tool
call and every tool response renders, and checks the ShareGPT and Hermes files
in their own shapes. Run by scripts/test-distiller-python.sh.

Byte-exact, for every example of the run:
- the Hermes text equals the chat template's rendering of the OpenAI example
  (each assistant turn's content: its reasoning as a <think> block, then its
  content), i.e. what a served Qwen model sees for the same turns;
- the ShareGPT conversation rendered as LLaMA-Factory's `qwen` template does
  equals the chat template's rendering of the same turns (LLaMA-Factory puts a
  function_call's <think> block directly before <tool_call>; the chat template
  puts a newline between: that one difference is allowed).

usage: check_sft_formats.py <distilled dir> [<model.gguf>]
"""

import json
import re
import sys
from pathlib import Path

import datasets
import jinja2

# Qwen2.5-Instruct's chat template (tool part), used when no GGUF is available.
QWEN25_TEMPLATE = r"""{%- if tools %}{{- '<|im_start|>system\n' }}{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}{%- endif %}{{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}{%- for tool in tools %}{{- "\n" }}{{- tool | tojson }}{%- endfor %}{{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}{%- else %}{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}{%- else %}{{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}{%- endif %}{%- endif %}{%- for message in messages %}{%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}{%- elif message.role == "assistant" %}{{- '<|im_start|>' + message.role }}{%- if message.content %}{{- '\n' + message.content }}{%- endif %}{%- for tool_call in message.tool_calls %}{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}{{- '\n<tool_call>\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}{{- tool_call.arguments | tojson }}{{- '}\n</tool_call>' }}{%- endfor %}{{- '<|im_end|>\n' }}{%- elif message.role == "tool" %}{%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}{{- '<|im_start|>user' }}{%- endif %}{{- '\n<tool_response>\n' }}{{- message.content }}{{- '\n</tool_response>' }}{%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- '<|im_end|>\n' }}{%- endif %}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}"""


def chat_template(gguf_path):
    """The GGUF's embedded chat template, or None."""
    if not gguf_path or not Path(gguf_path).is_file():
        return None
    try:
        from gguf import GGUFReader

        field = GGUFReader(gguf_path).fields.get("tokenizer.chat_template")
        if field is None:
            return None
        return field.contents() if hasattr(field, "contents") else bytes(field.parts[field.data[0]]).decode()
    except Exception as e:  # a broken or foreign file: fall back, but say so
        print(f"could not read the chat template from {gguf_path}: {e}", file=sys.stderr)
        return None


def environment():
    # As transformers renders chat templates: trim/lstrip blocks, JSON without
    # HTML escaping, raise_exception available.
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def assistant_text(m):
    """The content a chat template gets for an assistant turn (the distiller's
    convention: reasoning as a <think> block, a blank line, the content)."""
    reasoning = (m.get("reasoning_content") or "").strip()
    content = m.get("content") or ""
    if not reasoning:
        return content
    if not content:
        return f"<think>\n{reasoning}\n</think>"
    return f"<think>\n{reasoning}\n</think>\n\n{content}"


def template_messages(openai_row):
    """The OpenAI example's turns as a trainer hands them to the chat template
    (tool call arguments as objects, in the order the model wrote them)."""
    out = []
    for m in openai_row["messages"]:
        if m["role"] == "assistant":
            turn = {"role": "assistant", "content": assistant_text(m)}
            if m.get("tool_calls"):
                turn["tool_calls"] = [
                    {"type": "function", "id": c["id"], "function": {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}}
                    for c in m["tool_calls"]
                ]
            out.append(turn)
        else:
            out.append({"role": m["role"], "content": m["content"]})
    return out


def raw_rows(path):
    """Rows as written (key order kept; `datasets` turns objects into Arrow structs)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def first_difference(a, b):
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"at byte {i}: rendered {a[max(0, i - 60):i + 60]!r}\n   exported {b[max(0, i - 60):i + 60]!r}"


def check_hermes_exact(out, template):
    openai = raw_rows(out / "sft.openai.jsonl")
    hermes = raw_rows(out / "sft.hermes.jsonl")
    assert len(openai) == len(hermes) > 0, f"{len(openai)} openai and {len(hermes)} hermes examples"
    for o, h in zip(openai, hermes):
        rendered = template.render(messages=template_messages(o), tools=o["tools"] or None, add_generation_prompt=False)
        tid = o["meta"]["trajectory_id"]
        assert rendered == h["text"], f"{tid}: the Hermes text is not the chat template's rendering, {first_difference(rendered, h['text'])}"
    return len(hermes)


# LLaMA-Factory's qwen template (src/llamafactory/data/template.py, tool_utils.py):
# its slots, QWEN_TOOL_PROMPT, QwenToolUtils.tool_formatter/function_formatter and
# FunctionFormatter's handling of a leading <think> block.
LF_QWEN_TOOL_PROMPT = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>{tool_text}"
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    """<tool_call></tool_call> XML tags:\n<tool_call>\n{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>"""
)


def llamafactory_render(row):
    tools = json.loads(row["tools"])
    text = ""
    for tool in tools:
        wrapped = tool if tool.get("type") == "function" else {"type": "function", "function": tool}
        text += "\n" + json.dumps(wrapped, ensure_ascii=False)
    system = row["system"] + (LF_QWEN_TOOL_PROMPT.format(tool_text=text) if tools else "")
    out = "<|im_start|>system\n" + system + "<|im_end|>\n"
    for turn in row["conversations"]:
        who, value = turn["from"], turn["value"]
        if who == "human":
            out += "<|im_start|>user\n" + value + "<|im_end|>\n<|im_start|>assistant\n"
        elif who == "observation":
            out += "<|im_start|>user\n<tool_response>\n" + value + "\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
        elif who == "gpt":
            out += value + "<|im_end|>\n"
        else:  # function_call
            thought = re.search(r"<think>(.*)</think>", value, re.DOTALL)
            body = value.replace(thought.group(0), "") if thought else value
            calls = json.loads(body)
            calls = calls if isinstance(calls, list) else [calls]
            formatted = "\n".join(
                "<tool_call>\n" + json.dumps({"name": c["name"], "arguments": c["arguments"]}, ensure_ascii=False) + "\n</tool_call>" for c in calls
            )
            out += (thought.group(0) if thought else "") + formatted + "<|im_end|>\n"
    return out


def sharegpt_turns(row):
    """The ShareGPT conversation as chat turns for the chat template."""
    out = [{"role": "system", "content": row["system"]}]
    for turn in row["conversations"]:
        who, value = turn["from"], turn["value"]
        if who == "human":
            out.append({"role": "user", "content": value})
        elif who == "observation":
            out.append({"role": "tool", "content": value})
        elif who == "gpt":
            out.append({"role": "assistant", "content": value})
        else:
            thought = re.search(r"<think>(.*)</think>", value, re.DOTALL)
            body = value.replace(thought.group(0), "") if thought else value
            calls = json.loads(body)
            calls = calls if isinstance(calls, list) else [calls]
            out.append({
                "role": "assistant",
                "content": thought.group(0) if thought else "",
                "tool_calls": [{"type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls],
            })
    return out


def check_sharegpt_exact(out, template):
    rows = raw_rows(out / "sft.sharegpt.jsonl")
    for row in rows:
        tools = json.loads(row["tools"])
        served = template.render(messages=sharegpt_turns(row), tools=tools or None, add_generation_prompt=False)
        served = served.replace("</think>\n<tool_call>", "</think><tool_call>")
        trained = llamafactory_render(row)
        tid = row["meta"]["trajectory_id"]
        assert trained == served, f"{tid}: LLaMA-Factory's rendering differs from the chat template's, {first_difference(trained, served)}"
    return len(rows)


def load(path):
    return datasets.load_dataset("json", data_files=str(path), split="train")


def check_openai(path, template):
    ds = load(path)
    assert len(ds) > 0, f"{path}: no examples"
    rendered = 0
    for row in ds:
        messages = []
        for m in row["messages"]:
            m = {k: v for k, v in m.items() if v is not None}
            calls = m.get("tool_calls") or []
            if calls:
                # Trainers hand the template arguments as objects, as transformers does.
                m["tool_calls"] = [
                    {"type": "function", "id": c["id"], "function": {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}}
                    for c in calls
                ]
            messages.append(m)
        tools = [json.loads(json.dumps(t)) for t in row["tools"]]
        text = template.render(messages=messages, tools=tools or None, add_generation_prompt=False)
        # The system turn explains the tags once; count what follows it.
        body = text.split("<|im_start|>user", 1)[1]
        n_calls = sum(len(m.get("tool_calls") or []) for m in messages)
        n_tools = sum(1 for m in messages if m["role"] == "tool")
        assert n_calls > 0, f"{row['meta']['trajectory_id']}: no tool call to render"
        assert body.count("<tool_call>\n{\"name\": ") == n_calls, f"{row['meta']['trajectory_id']}: {n_calls} calls, rendered {body.count('<tool_call>')}"
        assert body.count("<tool_response>\n") == n_tools == n_calls, f"{row['meta']['trajectory_id']}: tool responses do not render"
        for m in messages:
            for c in m.get("tool_calls") or []:
                assert json.dumps(c["function"]["arguments"], ensure_ascii=False) in text
        assert text.endswith("<|im_end|>\n"), "the report ends the text"
        assert row["meta"]["tokens"] > 0 and row["meta"]["bucket"] in ("32k", "64k", "128k")
        rendered += 1
    return rendered


def check_sharegpt(path):
    ds = load(path)
    for row in ds:
        turns = row["conversations"]
        for i, t in enumerate(turns):
            side = ("human", "observation") if i % 2 == 0 else ("gpt", "function_call")
            assert t["from"] in side, f"turn {i}: {t['from']} on the wrong side"
            if t["from"] == "function_call":
                body = t["value"].split("</think>")[-1].strip()
                call = json.loads(body)
                assert isinstance(call["arguments"], dict)
        assert turns[-1]["from"] == "gpt"
        assert isinstance(json.loads(row["tools"]), list)
    return len(ds)


def check_hermes(path):
    ds = load(path)
    for row in ds:
        text = row["text"]
        assert text.startswith("<|im_start|>system\n")
        body = text.split("<|im_start|>user", 1)[1]
        assert body.count("<tool_call>\n{") == body.count("<tool_response>\n") > 0
        assert text.endswith("<|im_end|>\n")
    return len(ds)


def main():
    out = Path(sys.argv[1])
    gguf_path = sys.argv[2] if len(sys.argv) > 2 else None
    source = chat_template(gguf_path)
    label = f"the chat template embedded in {gguf_path}" if source else "the Qwen2.5 chat template (no GGUF found)"
    template = environment().from_string(source or QWEN25_TEMPLATE)
    n = check_openai(out / "sft.openai.jsonl", template)
    print(f"openai: {n} examples loaded with datasets and rendered through {label}; every tool call and response rendered")
    print(f"sharegpt: {check_sharegpt(out / 'sft.sharegpt.jsonl')} examples alternate and parse")
    print(f"hermes: {check_hermes(out / 'sft.hermes.jsonl')} examples have paired <tool_call>/<tool_response>")
    print(f"hermes: {check_hermes_exact(out, template)} texts are byte for byte {label}'s rendering of the OpenAI examples")
    print(f"sharegpt: {check_sharegpt_exact(out, template)} conversations render as LLaMA-Factory's qwen template and {label} alike")
    for bucket in ("32k", "64k", "128k"):
        p = out / f"sft.openai.{bucket}.jsonl"
        if p.is_file() and p.stat().st_size > 0:
            assert len(load(p)) <= n


if __name__ == "__main__":
    main()
