"""Answers written by a language model, from any OpenAI-compatible server (OpenAI, Ollama,
vLLM, llama.cpp): `POST {LLM_BASE_URL}/chat/completions` with `stream: true`, read as
server-sent events (`data: {json}` lines, ending with `data: [DONE]`).

The model sees only the retrieved passages and the question, and is told to answer
NO_ANSWER when they do not hold the answer. `requests` over the server's sockets is
cooperative under eventlet and gevent (they patch them), so a slow model holds no other task.
"""
import json
import time

import requests

NO_ANSWER = "NO_ANSWER"
SYSTEM_PROMPT = (
    "You answer a shop's customers in its chat. Answer only from the passages of the shop's help "
    "articles given below, briefly (at most 4 sentences), in the customer's language, as plain text. "
    f"If the passages do not hold the answer, reply exactly {NO_ANSWER} and nothing else.")


class ModelError(Exception):
    """The model did not answer usefully: unreachable, an error, a stall, or nothing said."""


def configured(config):
    return bool(config.get("LLM_BASE_URL") and config.get("LLM_MODEL"))


def prompt(question, passages):
    """The chat messages sent: the rules, the passages (title and text), the question."""
    sources = "\n\n".join(f"[{n}] {title}\n{text}" for n, (title, text) in enumerate(passages, 1))
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Passages:\n{sources}\n\nQuestion: {question}"}]


def stream(config, question, passages):
    """The model's answer, piece by piece as it arrives. Raises ModelError on a connection
    failure, an HTTP error, an `error` event, no piece for LLM_STALL_SECONDS, or the whole
    answer taking longer than LLM_TIMEOUT_SECONDS."""
    deadline = time.monotonic() + config["LLM_TIMEOUT_SECONDS"]
    headers = {"Accept": "text/event-stream"}
    if config.get("LLM_API_KEY"):
        headers["Authorization"] = f"Bearer {config['LLM_API_KEY']}"
    body = {"model": config["LLM_MODEL"], "messages": prompt(question, passages), "stream": True,
            "temperature": 0.2, "max_tokens": 400}
    url = config["LLM_BASE_URL"].rstrip("/") + "/chat/completions"
    try:
        with requests.post(url, json=body, headers=headers, stream=True,
                           timeout=(config["LLM_STALL_SECONDS"], config["LLM_STALL_SECONDS"])) as response:
            if response.status_code != 200:
                raise ModelError(f"the model server answered HTTP {response.status_code}")
            for line in response.iter_lines(decode_unicode=True):
                if time.monotonic() > deadline:
                    raise ModelError("the model took too long")
                piece = _piece(line)
                if piece is _DONE:
                    return
                if piece:
                    yield piece
    except requests.RequestException as error:
        raise ModelError(f"the model server could not be reached or stalled ({type(error).__name__})") from None


_DONE = object()


def _piece(line):
    """The text of one server-sent-events line: a piece, "" for nothing, _DONE at the end."""
    if not line or not line.startswith("data:"):
        if line and line.startswith("event:") and line[6:].strip() == "error":
            raise ModelError("the model server sent an error event")
        return ""
    data = line[5:].strip()
    if data == "[DONE]":
        return _DONE
    try:
        event = json.loads(data)
    except ValueError:
        raise ModelError("the model server sent something that is not JSON") from None
    if not isinstance(event, dict):
        raise ModelError("the model server sent something unexpected")
    if "error" in event:
        raise ModelError("the model server sent an error")
    choices = event.get("choices") or []          # the usage chunk has none (vLLM: null)
    if not choices or not isinstance(choices[0], dict):
        return ""
    content = (choices[0].get("delta") or {}).get("content")
    return content if isinstance(content, str) else ""
