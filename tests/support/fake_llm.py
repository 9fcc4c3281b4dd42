"""A local stand-in for an OpenAI-compatible model server: `POST /v1/chat/completions` with
`stream: true` answers in server-sent events, as OpenAI, Ollama and vLLM do. The model name
picks the behaviour, so one server serves every test:

- "writer": streams FakeModel.answer in pieces, then a usage chunk with no choices, then [DONE];
- "no-answer": streams "NO_ANSWER";
- "staller": sends one piece, then nothing (the client must give up);
- "error-event": sends one piece, then an `error` event;
- "broken": answers HTTP 500.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.server import free_port


class FakeModel:
    answer = "Orders ship within one working day. Delivery takes 2-3 days in France."
    first_token_seconds = 0.0

    def __init__(self):
        self.requests = []
        self.release = threading.Event()       # ends a "staller" stream when the test is done
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model.requests.append({"path": self.path, "body": body,
                                       "authorization": self.headers.get("Authorization")})
                if body["model"] == "broken":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                time.sleep(model.first_token_seconds)
                kind = body["model"]
                if kind == "no-answer":
                    self.event({"choices": [{"index": 0, "delta": {"content": "NO_"}}]})
                    self.event({"choices": [{"index": 0, "delta": {"content": "ANSWER"}}]})
                elif kind == "staller":
                    self.event({"choices": [{"index": 0, "delta": {"content": "Orders ship "}}]})
                    model.release.wait(30)
                    return
                elif kind == "error-event":
                    self.event({"choices": [{"index": 0, "delta": {"content": "Orders "}}]})
                    self.wfile.write(b'event: error\ndata: {"error": {"message": "overloaded"}}\n\n')
                    return
                else:
                    self.event({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
                    for word in model.answer.split(" "):
                        self.event({"choices": [{"index": 0, "delta": {"content": word + " "},
                                                 "finish_reason": None}]})
                    self.event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    self.event({"choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 9}})
                self.wfile.write(b"data: [DONE]\n\n")

            def event(self, data):
                self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
