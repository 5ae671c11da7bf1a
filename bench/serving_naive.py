"""The naive baseline of ``bench/serving.py``: an OpenAI-shaped ``/v1/completions`` server that runs one
``model.generate`` at a time behind a lock (Starlette on uvicorn, the project server's framework).

Streams tokens as SSE chunks (``data: [DONE]`` last, a usage chunk first when
``stream_options.include_usage``); ``temperature`` 0 is greedy; ``ignore_eos`` sets
``min_new_tokens`` to ``max_tokens``, so every request yields exactly ``max_tokens`` tokens.

    python bench/serving_naive.py FOLDER --port 8001 [--threads 2] [--device cpu] [--dtype float32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

import torch
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.generation.streamers import BaseStreamer


class QueueStreamer(BaseStreamer):
    """Hands each new token id from ``generate``'s thread to an asyncio queue (None when done)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
        self.loop, self.queue, self.prompt_seen = loop, queue, False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # generate hands over the prompt first
            self.prompt_seen = True
            return
        for token in value.reshape(-1).tolist():
            self.loop.call_soon_threadsafe(self.queue.put_nowait, token)

    def end(self) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, None)


class NaiveServer:
    def __init__(self, folder: str, device: str, dtype: torch.dtype) -> None:
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device).eval()
        self.device, self.name, self.lock = device, folder, asyncio.Lock()

    def generate(self, ids: torch.Tensor, body: dict, streamer: BaseStreamer) -> None:
        max_tokens = int(body.get("max_tokens", 16))
        temperature = float(body.get("temperature", 1.0))
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        with torch.inference_mode():
            self.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_tokens,
                                min_new_tokens=max_tokens if body.get("ignore_eos") else 0, streamer=streamer,
                                pad_token_id=self.tokenizer.pad_token_id, **sampling)

    async def tokens(self, ids: torch.Tensor, body: dict):
        """Token ids as ``generate`` makes them, one request at a time."""
        async with self.lock:
            queue: asyncio.Queue = asyncio.Queue()
            work = asyncio.create_task(asyncio.to_thread(
                self.generate, ids, body, QueueStreamer(asyncio.get_running_loop(), queue)))
            while (token := await queue.get()) is not None:
                yield token
            await work

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        ids = self.tokenizer(body["prompt"], return_tensors="pt").input_ids.to(self.device)
        rid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())

        def chunk(text: str | None, usage: dict | None = None) -> str:
            choices = [] if text is None else [{"index": 0, "text": text, "finish_reason": None, "logprobs": None}]
            return "data: " + json.dumps({"id": rid, "object": "text_completion", "created": created,
                                          "model": body.get("model", self.name), "choices": choices,
                                          "usage": usage}) + "\n\n"

        def usage(count: int) -> dict:
            prompt = ids.shape[1]
            return {"prompt_tokens": prompt, "completion_tokens": count, "total_tokens": prompt + count}

        if not body.get("stream"):
            out = [token async for token in self.tokens(ids, body)]
            text = self.tokenizer.decode(out, skip_special_tokens=True)
            return JSONResponse({"id": rid, "object": "text_completion", "created": created, "model": body.get("model"),
                                 "choices": [{"index": 0, "text": text, "finish_reason": "length"}],
                                 "usage": usage(len(out))})

        async def events():
            out, sent, text = [], "", ""
            async for token in self.tokens(ids, body):
                out.append(token)
                text = self.tokenizer.decode(out, skip_special_tokens=True)
                if not text.endswith("\ufffd") and len(text) > len(sent):  # whole characters only
                    yield chunk(text[len(sent):])
                    sent = text
            if len(text) > len(sent):  # what was held back as a partial character
                yield chunk(text[len(sent):])
            if (body.get("stream_options") or {}).get("include_usage"):
                yield chunk(None, usage(len(out)))
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    server = NaiveServer(args.folder, args.device, getattr(torch, args.dtype))

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/v1/completions", server.completions, methods=["POST"]),
                            Route("/health", health)])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
