// The browser client's parser on the shared vectors (the Python parser's tests use the same file), and its
// connection logic against real fetch Response/ReadableStream objects with injected timers.
// Run: node --test tests/js/   (tests/test_browser_client.py runs it under pytest)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  CLOSED,
  DEFAULT_RETRY_MS,
  MAX_EVENT_SIZE,
  MAX_RETRY_MS,
  OPEN,
  SSEParseError,
  SSEParser,
  TracedEventSource,
  backoffDelay,
  traceIdOf,
} from "../../examples/browser/sse-client.js";

const { vectors } = JSON.parse(readFileSync(new URL("../data/sse_vectors.json", import.meta.url), "utf-8"));

function chunkings(wire) {
  // Whole, byte by byte with an empty chunk after each, and split in two at every position.
  const all = [[wire], Array.from(wire, (byte) => [Uint8Array.of(byte), new Uint8Array(0)]).flat()];
  for (let k = 1; k < wire.length; k++) all.push([wire.slice(0, k), wire.slice(k)]);
  return all;
}

function textChunkings(text) {
  // The same as strings: a leading BOM must be skipped on text input too.
  if (text.length >= 600) return [[text]];
  const all = [[text], Array.from(text, (c) => [c, ""]).flat()];
  for (let k = 1; k < text.length; k++) all.push([text.slice(0, k), text.slice(k)]);
  return all;
}

// Vectors with a `source` restate a web-platform-tests EventSource case (web-platform-tests/wpt,
// eventsource/format-*): the stream its resources/message.py serves and the events its assertions expect.
for (const vector of vectors) {
  test(`parser vector: ${vector.name}`, () => {
    const wire = new TextEncoder().encode(vector.stream);
    for (const chunks of [...chunkings(wire), ...textChunkings(vector.stream)]) {
      const parser = new SSEParser();
      const received = chunks.flatMap((chunk) => parser.feed(chunk));
      assert.deepEqual(received, vector.events, `chunks: ${chunks.map((c) => c.length)}`);
      assert.equal(parser.retry, vector.retry);
      assert.equal(parser.lastEventId, vector.lastEventId);
      if ("resendId" in vector) assert.equal(parser.dispatchedId, vector.resendId);
    }
  });
}

test("traceIdOf reads Root= or a bare trace id, nothing else", () => {
  assert.equal(traceIdOf("Root=1-5759E988-BD862E3FE1BE46A994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
    "1-5759e988-bd862e3fe1be46a994272793");
  assert.equal(traceIdOf("1-5759e988-bd862e3fe1be46a994272793"), "1-5759e988-bd862e3fe1be46a994272793");
  assert.equal(traceIdOf("Self=1-5759e988-bd862e3fe1be46a994272793"), null);
  assert.equal(traceIdOf("Root=1-5759e988-bd862e3fe1be46a99427279"), null);
  assert.equal(traceIdOf(null), null);
});

test("backoff: full jitter under a doubling, capped ceiling", () => {
  const options = { baseMs: 100, maxMs: 1000 };
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, options, () => 0.999)), [99, 199, 399, 799, 999, 999]);
  assert.equal(backoffDelay(3, options, () => 0), 0);
  for (let i = 0; i < 200; i++) {
    const delay = backoffDelay(2, options);
    assert.ok(delay >= 0 && delay < 400);
  }
});

// -- connection logic: real Response objects, a scripted fetch, timers recorded instead of run -------

function sseResponse(frames, { headers = {}, status = 200, fail = false } = {}) {
  const encoder = new TextEncoder();
  const pending = frames.map((frame) => encoder.encode(frame));
  const body = new ReadableStream({
    pull(controller) {
      // One frame per read, then the end: graceful (close) or a dropped connection (error).
      if (pending.length) controller.enqueue(pending.shift());
      else if (fail) controller.error(new TypeError("network error"));
      else controller.close();
    },
  });
  return new Response(body, {
    status,
    headers: { "Content-Type": "text/event-stream", ...headers },
  });
}

function harness(script, options = {}) {
  const requests = [];
  const timers = [];
  const cleared = [];
  let next = 0;
  const fetch = async (url, init) => {
    requests.push({ url, headers: { ...init.headers }, signal: init.signal });
    const step = script[Math.min(next++, script.length - 1)];
    if (step instanceof Error) throw step;
    return typeof step === "function" ? step(init) : step;
  };
  const source = new TracedEventSource("http://127.0.0.1:9/stream", {
    fetch,
    setTimeout: (fn, ms) => {
      timers.push({ fn, ms });
      return timers.length;
    },
    clearTimeout: (id) => cleared.push(id),
    random: () => 0.5,
    backoff: { baseMs: 100, maxMs: 1000 },
    sessionId: "page-session-1",
    ...options,
  });
  const events = [];
  const lifecycle = [];
  source.addEventListener("message", (e) => events.push([e.lastEventId, e.data]));
  source.addEventListener("sentiment", (e) => events.push([e.lastEventId, `sentiment:${e.data}`]));
  for (const type of ["open", "error", "reconnecting"]) source.addEventListener(type, (e) => lifecycle.push([type, e.detail]));
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
  const fire = async () => {
    const timer = timers.shift();
    timer.fn();
    await settle();
    return timer.ms;
  };
  return { source, requests, timers, cleared, events, lifecycle, settle, fire };
}

test("a graceful close waits DEFAULT_RETRY_MS when the server sent no retry, then the server's retry", async () => {
  const h = harness([
    sseResponse(["id: 1\ndata: a\n\n"]),
    sseResponse(["retry: 750\n\nid: 2\ndata: b\n\n"]),
    sseResponse([": idle\n\n"]),
  ]);
  await h.settle();
  assert.deepEqual(h.events, [["1", "a"]]);
  assert.equal(h.timers[0].ms, DEFAULT_RETRY_MS);
  assert.equal(await h.fire(), DEFAULT_RETRY_MS);
  assert.equal(h.timers[0].ms, 750);
  await h.fire();
  assert.equal(h.timers[0].ms, 750); // the server's value is kept, as EventSource does
  assert.deepEqual(h.lifecycle.filter(([t]) => t === "reconnecting").map(([, d]) => d.cause), ["closed", "closed", "closed"]);
  h.source.close();
});

test("network errors back off exponentially with jitter; data flowing resets the backoff", async () => {
  const h = harness([
    new TypeError("Failed to fetch"),
    new TypeError("Failed to fetch"),
    sseResponse(["id: 1\ndata: a\n\n"], { fail: true }),
    new TypeError("Failed to fetch"),
    sseResponse(["data: ok\n\n"]),
  ]);
  await h.settle();
  const delays = [];
  for (let i = 0; i < 4; i++) delays.push(await h.fire());
  assert.deepEqual(delays, [50, 100, 50, 100]); // random 0.5 x 100, 200; reset by data; then 100, 200
  const errors = h.lifecycle.filter(([t]) => t === "error").map(([, d]) => d.reason);
  assert.deepEqual(errors, ["network", "network", "network", "network"]);
  assert.deepEqual(h.events, [["1", "a"], ["1", "ok"]]);
  h.source.close();
});

test("HTTP 5xx and 429 are retried; 204, 404 and a wrong Content-Type close for good", async () => {
  for (const [response, fatal] of [
    [new Response("busy", { status: 503 }), false],
    [new Response("slow down", { status: 429 }), false],
    [new Response(null, { status: 204 }), true],
    [new Response("no", { status: 404 }), true],
    [new Response("<html>", { status: 200, headers: { "Content-Type": "text/html" } }), true],
  ]) {
    const h = harness([response]);
    await h.settle();
    const [, detail] = h.lifecycle.find(([t]) => t === "error");
    assert.equal(detail.fatal, fatal, `${response.status}`);
    assert.equal(h.timers.length, fatal ? 0 : 1);
    assert.equal(h.source.readyState, fatal ? CLOSED : 0);
    h.source.close();
  }
});

test("every connection carries the trace header, the session fields and Last-Event-ID", async () => {
  let n = 0;
  const h = harness(
    [
      sseResponse(["id: 1\ndata: a\n\n"], { headers: { "X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793" } }),
      sseResponse(["id: 2\ndata: b\n\n"]),
      sseResponse([], { headers: { "X-Amzn-Trace-Id": "Root=1-5759e988-00000000000000000000000b;Sampled=1" } }),
      sseResponse([]),
    ],
    { traceHeader: () => (++n === 2 ? "bad\nvalue" : `Root=1-5759e988-${String(n).padStart(24, "0")};Sampled=1`) },
  );
  await h.settle();
  for (let i = 0; i < 3; i++) await h.fire();
  const sent = h.requests.map((r) => r.headers);
  assert.deepEqual(sent.map((s) => s["X-SSE-Session-Id"]), Array(4).fill("page-session-1"));
  assert.deepEqual(sent.map((s) => s["X-SSE-Connection-Sequence"]), ["1", "2", "3", "4"]);
  assert.deepEqual(sent.map((s) => s["X-SSE-Previous-Trace-Id"]), [
    undefined,
    "1-5759e988-bd862e3fe1be46a994272793",
    "1-5759e988-bd862e3fe1be46a994272793", // the second response had no trace header: the last known stays
    "1-5759e988-00000000000000000000000b",
  ]);
  assert.deepEqual(sent.map((s) => s["Last-Event-ID"]), [undefined, "1", "2", "2"]);
  assert.deepEqual(sent.map((s) => s["X-Amzn-Trace-Id"]), [
    "Root=1-5759e988-000000000000000000000001;Sampled=1",
    undefined, // a value with a line break is never sent
    "Root=1-5759e988-000000000000000000000003;Sampled=1",
    "Root=1-5759e988-000000000000000000000004;Sampled=1",
  ]);
  h.source.close();
});

test("X-SSE-Resume-Supported: false makes the client drop events it already has", async () => {
  const h = harness([
    sseResponse(["id: 1\ndata: a\n\nid: 2\ndata: b\n\n"], { headers: { "X-SSE-Resume-Supported": "false" } }),
    sseResponse(["id: 2\ndata: b again\n\nid: 3\nevent: sentiment\ndata: c\n\n"], {
      headers: { "X-SSE-Resume-Supported": "false" },
    }),
    sseResponse(["id: 3\ndata: replayed\n\n"], { headers: { "X-SSE-Resume-Supported": "true" } }),
  ]);
  await h.settle();
  await h.fire();
  await h.fire();
  assert.deepEqual(h.events, [["1", "a"], ["2", "b"], ["3", "sentiment:c"], ["3", "replayed"]]);
  h.source.close();
});

test("close() during a pending reconnection cancels its timer; no request follows", async () => {
  const h = harness([sseResponse(["data: a\n\n"])]);
  await h.settle();
  assert.equal(h.timers.length, 1);
  h.source.close();
  assert.deepEqual(h.cleared, [1]);
  assert.equal(h.source.readyState, CLOSED);
  h.timers[0].fn(); // even if the platform ran it anyway
  await h.settle();
  assert.equal(h.requests.length, 1);
});

test("close() while reading aborts the request; no event, no reconnection after it", async () => {
  let push;
  const body = new ReadableStream({ start: (c) => { push = c; } });
  const h = harness([new Response(body, { headers: { "Content-Type": "text/event-stream" } })]);
  await h.settle();
  assert.equal(h.source.readyState, OPEN);
  push.enqueue(new TextEncoder().encode("data: a\n\n"));
  await h.settle();
  h.source.close();
  assert.ok(h.requests[0].signal.aborted);
  await h.settle();
  assert.deepEqual(h.events, [["", "a"]]);
  assert.equal(h.timers.length, 0);
  assert.deepEqual(h.lifecycle.map(([t]) => t), ["open"]);
});

test("onmessage, onopen and onerror work as on EventSource", async () => {
  const seen = [];
  const h = harness([sseResponse(["data: a\n\n"]), new Response("no", { status: 404 })]);
  h.source.onopen = () => seen.push("open");
  h.source.onmessage = (e) => seen.push(`message:${e.data}`);
  h.source.onerror = (e) => seen.push(`error:${e.detail.status}`);
  await h.settle();
  await h.fire();
  assert.deepEqual(seen, ["open", "message:a", "error:404"]);
});

// -- hostile input: limits, linear time, the id to resend, timers ------------------------------------

test("an oversized event is skipped with an SSEParseError carrying the chunk's events; parsing goes on", () => {
  const parser = new SSEParser("", { maxEventSize: 10 });
  assert.throws(
    () => parser.feed("data: ok\n\ndata: 0123456789ABC\n\ndata: next\n\n"),
    (error) => error instanceof SSEParseError && error.message.includes("past 10 characters") &&
      error.events.map((e) => e.data).join() === "ok,next",
  );
  assert.throws(() => { for (let i = 0; i < 100; i++) parser.feed("x".repeat(7)); }, SSEParseError);
  assert.deepEqual(parser.feed("\n\ndata: aft\n\n"), [{ data: "aft", event: "message", id: "" }]);
  assert.equal(new SSEParser().feed("data: " + "y".repeat(1000) + "\n\n")[0].data.length, 1000);
  assert.equal(MAX_EVENT_SIZE, 4 * 1024 * 1024);
});

function parseCost(size, chunk = 1024) {
  // Best of 3, in ms, for one line of `size` characters fed in `chunk`-character pieces.
  const piece = "d".repeat(chunk);
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const parser = new SSEParser("", { maxEventSize: size + 16 });
    const start = performance.now();
    parser.feed("data: ");
    for (let i = 0; i < size / chunk; i++) parser.feed(piece);
    const [event] = parser.feed("\n\n");
    best = Math.min(best, performance.now() - start);
    assert.equal(event.data.length, size);
  }
  return best;
}

test("parsing a long line in small chunks is linear (growth, not time: 4x input well under 16x cost)", () => {
  const small = parseCost(1024 * 1024);
  const large = parseCost(4 * 1024 * 1024);
  assert.ok(large < 8 * small + 50, `${small} ms then ${large} ms`);
});

test("retry of any length never throws and is clamped to what setTimeout can wait", async () => {
  const parser = new SSEParser();
  assert.deepEqual(parser.feed("retry: " + "9".repeat(5000) + "\ndata: kept\n\n").map((e) => e.data), ["kept"]);
  assert.equal(parser.retry, MAX_RETRY_MS);
  const h = harness([sseResponse(["retry: 99999999999999\n\n"])]);
  await h.settle();
  assert.equal(h.timers[0].ms, 2 ** 31 - 1); // above it, a browser timer fires at once
  h.source.close();
  const big = harness([sseResponse([])], { retryMs: 1e300 });
  await big.settle();
  assert.equal(big.timers[0].ms, MAX_RETRY_MS);
  big.source.close();
});

test("an id in a frame without data is the Last-Event-ID of the next connection", async () => {
  const h = harness([
    sseResponse(["id: 1\ndata: a\n\n", "id: 7\n\n"]),
    sseResponse(["id: 8\ndata: b\n\nid\n\n"]),
    sseResponse(["id: 9\ndata: c\n\nid: 10\n"]), // no blank line after id 10: not resent
    sseResponse([]),
  ]);
  await h.settle();
  for (let i = 0; i < 3; i++) await h.fire();
  assert.deepEqual(h.requests.map((r) => r.headers["Last-Event-ID"]), [undefined, "7", undefined, "9"]);
  assert.deepEqual(h.events, [["1", "a"], ["8", "b"], ["9", "c"]]);
  h.source.close();
});

test("a too-large event is an error event, not the end of the stream", async () => {
  const h = harness([sseResponse(["data: " + "z".repeat(MAX_EVENT_SIZE) + "\n\n", "data: after\n\n"])]);
  await h.settle();
  const errors = h.lifecycle.filter(([t]) => t === "error").map(([, d]) => [d.reason, d.fatal]);
  assert.deepEqual(errors, [["too-large", false]]);
  assert.deepEqual(h.events, [["", "after"]]);
  h.source.close();
});

test("a leading BOM is skipped on text input, once", () => {
  const parser = new SSEParser();
  assert.deepEqual(parser.feed("\ufeffdata: a\n\n\ufeffdata: b\n\n").map((e) => e.data), ["a"]);
  const bytes = new SSEParser();
  const wire = new TextEncoder().encode("\ufeff\ufeffdata: a\n\ndata: b\n\n");
  assert.deepEqual(bytes.feed(wire).map((e) => e.data), ["b"]);
});
