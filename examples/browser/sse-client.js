// xray-exclusive reference SSE client: fetch() + ReadableStream instead of EventSource, so every
// (re)connection can carry X-Amzn-Trace-Id and join the SSE Lambda's trace, with what EventSource gave for
// free rebuilt: incremental WHATWG parsing, `retry:`, Last-Event-ID, reconnection, and the session fields
// the server-side `xray_exclusive.sse.session_annotations` reads.
//
// Dependency-free ES module; copy it or import it. Works in browsers and Node >= 18.
//
//   import { TracedEventSource } from "./sse-client.js";
//   const source = new TracedEventSource("https://abc.lambda-url.eu-west-1.on.aws/stream", {
//     traceHeader: () => rumTraceHeader(),        // e.g. from CloudWatch RUM; null: no header
//   });
//   source.addEventListener("sentiment", (event) => render(JSON.parse(event.data)));
//   source.addEventListener("error", (event) => console.warn(event.detail));
//   // later: source.close();

/** The reconnection delay after a graceful close when the server sent no `retry:`. */
export const DEFAULT_RETRY_MS = 3000;

/** The headers the server-side `sse.session_annotations()` reads. */
export const SESSION_HEADERS = Object.freeze({
  sessionId: "X-SSE-Session-Id",
  previousTraceId: "X-SSE-Previous-Trace-Id",
  connectionSequence: "X-SSE-Connection-Sequence",
});

/** `X-SSE-Resume-Supported: false`: the server does not replay, so the client deduplicates by id. */
export const RESUME_HEADER = "X-SSE-Resume-Supported";

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSED = 2;

const TRACE_ID = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/i;
const ROOT = /(?:^|;)\s*Root=(1-[0-9a-f]{8}-[0-9a-f]{24})\s*(?:;|$)/i;
const DIGITS = /^[0-9]+$/;
const MAX_SEEN_IDS = 1024;

/**
 * Longest line, and longest `data` of one event, in characters (4 MiB), as in the Python `sse.SSEParser`.
 * A larger event is skipped (the stream goes on) and `feed()` throws an `SSEParseError`.
 */
export const MAX_EVENT_SIZE = 4 * 1024 * 1024;

/** `retry:` values above this are read as this: setTimeout fires at once for anything larger. */
export const MAX_RETRY_MS = 2 ** 31 - 1;

/**
 * @typedef {{data: string, event: string, id: string}} SSEEvent
 * One dispatched event: `event` is "message" when the server named none; `id` is the last event id.
 */

/** A line or an event went past the parser's limit: it was skipped. `events`: the chunk's complete events. */
export class SSEParseError extends Error {
  constructor(message, events) {
    super(message);
    this.name = "SSEParseError";
    this.events = events;
  }
}

function retryValue(value) {
  if (!DIGITS.test(value)) return null;
  const digits = value.replace(/^0+/, "");
  if (digits.length > 10) return MAX_RETRY_MS;
  return Math.min(Number.parseInt(digits || "0", 10), MAX_RETRY_MS);
}

/**
 * An incremental Server-Sent Events parser per the WHATWG rules: feed chunks (bytes or text) split
 * anywhere, even inside a line, a CRLF pair or a UTF-8 character; get the events they complete.
 * Linear in the stream's size whatever the chunking; a line or an event's data longer than
 * `maxEventSize` characters is skipped and `feed()` throws an `SSEParseError` carrying the chunk's
 * complete events (feeding may go on).
 *
 *   const parser = new SSEParser();
 *   parser.feed("retry: 3000\n\nid: 1\nda");   // []
 *   parser.feed("ta: hi\n\n");                 // [{data: "hi", event: "message", id: "1"}]
 *   parser.retry;                              // 3000
 */
export class SSEParser {
  /**
   * @param {string} [lastEventId] carried over from the previous connection, as browsers do
   * @param {{maxEventSize?: number}} [options]
   */
  constructor(lastEventId = "", { maxEventSize = MAX_EVENT_SIZE } = {}) {
    // ignoreBOM: the BOM is removed below, once, for bytes and text alike (a second one is data).
    this._decoder = new TextDecoder("utf-8", { ignoreBOM: true }); // replaces invalid bytes
    this._maxEventSize = maxEventSize;
    this._pieces = [];
    this._lineSize = 0;
    this._skipLine = false;
    this._skipEvent = false;
    this._started = false;
    this._pendingCR = false;
    this._error = "";
    this._data = [];
    this._dataSize = 0;
    this._event = "";
    this._idField = false;
    /** The last event id seen (the id buffer: it persists across events, as in EventSource). */
    this.lastEventId = lastEventId;
    /** The id to resend as Last-Event-ID: the id buffer as of the last blank line, with or without data. */
    this.dispatchedId = lastEventId;
    /** The last valid `retry:` value in milliseconds (at most MAX_RETRY_MS), or null if none yet. */
    this.retry = null;
  }

  /**
   * @param {Uint8Array | ArrayBuffer | string} chunk
   * @returns {SSEEvent[]} the events this chunk completed, in order
   */
  feed(chunk) {
    let text = typeof chunk === "string" ? chunk : this._decoder.decode(chunk, { stream: true });
    if (text === "") return []; // an empty chunk changes nothing, not even a CR waiting for its LF
    if (!this._started) {
      this._started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this._pendingCR) {
      this._pendingCR = false;
      if (text.charCodeAt(0) === 10) text = text.slice(1); // the LF of a CRLF split across chunks
    }
    const events = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const event = this._endLine(text.slice(start, i));
      if (event) events.push(event);
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this._pendingCR = true; // a CR ends the chunk: an LF may follow in the next one
        }
      }
      start = i + 1;
    }
    this._keep(text.slice(start));
    if (this._error) {
      const message = this._error;
      this._error = "";
      throw new SSEParseError(message, events);
    }
    return events;
  }

  /** Call at the end of the stream: flushes a trailing partial UTF-8 sequence (an incomplete event is dropped). */
  end() {
    const rest = this._decoder.decode();
    this._pieces = [];
    this._lineSize = 0;
    this._skipLine = false;
    this._skipEvent = false;
    this._data = [];
    this._dataSize = 0;
    this._event = "";
    return rest;
  }

  _keep(rest) {
    if (rest === "" || this._skipLine) return;
    if (this._lineSize + rest.length > this._maxEventSize) {
      this._oversize("a line", (this._pieces.length ? this._pieces[0] : rest).charCodeAt(0) === 58);
      return;
    }
    this._pieces.push(rest);
    this._lineSize += rest.length;
  }

  _oversize(what, comment = false) {
    this._pieces = [];
    this._lineSize = 0;
    this._skipLine = what === "a line";
    if (!comment) {
      this._data = [];
      this._dataSize = 0;
      this._skipEvent = true;
    }
    this._error =
      `SSE ${what} went past ${this._maxEventSize} characters; that event was skipped ` +
      "(raise maxEventSize if the server sends events that large)";
  }

  _endLine(piece) {
    if (this._skipLine) {
      this._skipLine = false;
      return null;
    }
    let line = piece;
    if (this._pieces.length) {
      if (this._lineSize + piece.length > this._maxEventSize) {
        this._oversize("a line", this._pieces[0].charCodeAt(0) === 58);
        this._skipLine = false; // its end is here
        return null;
      }
      this._pieces.push(piece);
      line = this._pieces.join("");
      this._pieces = [];
      this._lineSize = 0;
    } else if (piece.length > this._maxEventSize) {
      this._oversize("a line", piece.charCodeAt(0) === 58);
      this._skipLine = false;
      return null;
    }
    return this._line(line);
  }

  _line(line) {
    if (line === "") return this._dispatch();
    if (line.charCodeAt(0) === 58) return null; // ":" comment
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (name === "data") {
      if (!this._skipEvent) {
        this._dataSize += value.length + 1;
        if (this._dataSize > this._maxEventSize + 1) this._oversize("an event's data");
        else this._data.push(value);
      }
    } else if (name === "event") this._event = value;
    else if (name === "id") {
      if (!value.includes("\0")) {
        this.lastEventId = value;
        this._idField = true;
      }
    } else if (name === "retry") {
      const retry = retryValue(value);
      if (retry !== null) this.retry = retry;
    }
    return null;
  }

  _dispatch() {
    this.dispatchedId = this.lastEventId;
    const data = this._data;
    const event = this._event;
    const idField = this._idField;
    const skipped = this._skipEvent;
    this._data = [];
    this._dataSize = 0;
    this._event = "";
    this._idField = false;
    this._skipEvent = false;
    if (data.length === 0 || skipped) return null;
    const dispatched = { data: data.join("\n"), event: event || "message", id: this.lastEventId };
    // Whether this event had its own `id:` line (not enumerable: the event stays {data, event, id}).
    Object.defineProperty(dispatched, "hasOwnId", { value: idField });
    return dispatched;
  }
}

/**
 * The X-Ray trace ID in an `X-Amzn-Trace-Id` value (`Root=1-...;...` or a bare trace ID), else null.
 * @param {string | null | undefined} header
 */
export function traceIdOf(header) {
  if (typeof header !== "string") return null;
  const value = header.trim();
  if (TRACE_ID.test(value)) return value.toLowerCase();
  const match = ROOT.exec(value);
  return match ? match[1].toLowerCase() : null;
}

/**
 * Full-jitter exponential backoff: a delay drawn uniformly from [0, min(maxMs, baseMs * 2^attempt)).
 * @param {number} attempt 0 for the first retry after an error
 * @param {{baseMs?: number, maxMs?: number}} [options]
 * @param {() => number} [random] in [0, 1)
 */
export function backoffDelay(attempt, { baseMs = 1000, maxMs = 30000 } = {}, random = Math.random) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(Math.max(0, Math.min(1, random())) * ceiling);
}

/** A stable session id for the page's lifetime: a UUID, within `[A-Za-z0-9_.:-]{1,128}`. */
export function newSessionId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function originOf(url) {
  try {
    return new URL(url, globalThis.location?.href).origin;
  } catch {
    return "";
  }
}

function messageEvent(type, init) {
  if (typeof MessageEvent === "function") return new MessageEvent(type, init);
  return Object.assign(new Event(type), init);
}

class HttpStatusError extends Error {
  constructor(status, fatal, message = `HTTP ${status}`) {
    super(message);
    this.status = status;
    this.fatal = fatal;
  }
}

/**
 * An EventSource-like connection over fetch() that sends `X-Amzn-Trace-Id`, `Last-Event-ID` and the
 * session headers on every (re)connection.
 *
 * Events (it is an EventTarget): every SSE event under its `event:` name as a `MessageEvent`
 * (`data`, `lastEventId`); `open`, `reconnecting` and `error` as `CustomEvent`s whose `detail` says
 * what happened. `onmessage`, `onopen` and `onerror` work as on EventSource. The backoff restarts
 * from `baseMs` once a connection delivers data, so a server that accepts and drops at once is
 * not retried at a constant short delay.
 *
 * Reconnection: after a graceful close (the body ended) it waits the server's last `retry:`
 * (DEFAULT_RETRY_MS if none); after a network error or an HTTP 5xx/408/429 it waits a full-jitter
 * exponential backoff (baseMs doubling to maxMs), reset by the next successful connection. HTTP 204
 * and other 4xx, or a response that is not `text/event-stream`, close the source for good (as
 * EventSource does), with a fatal `error` event.
 */
export class TracedEventSource extends EventTarget {
  /**
   * @param {string | URL} url
   * @param {{
   *   traceHeader?: () => (string | null | undefined | Promise<string | null | undefined>),
   *   headers?: Record<string, string>,
   *   sessionId?: string,
   *   credentials?: RequestCredentials,
   *   retryMs?: number,
   *   backoff?: {baseMs?: number, maxMs?: number},
   *   fetch?: typeof fetch,
   *   random?: () => number,
   *   setTimeout?: typeof setTimeout,
   *   clearTimeout?: typeof clearTimeout,
   * }} [options]
   */
  constructor(url, options = {}) {
    super();
    this.url = String(url);
    this._origin = originOf(this.url); // the MessageEvent origin: the same for every event of the source
    this._options = options;
    this._fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this._random = options.random ?? Math.random;
    this._setTimeout = options.setTimeout ?? globalThis.setTimeout.bind(globalThis);
    this._clearTimeout = options.clearTimeout ?? globalThis.clearTimeout.bind(globalThis);
    this._defaultRetryMs = options.retryMs ?? DEFAULT_RETRY_MS;
    this._serverRetryMs = null;
    this._failures = 0;
    this._timer = null;
    this._controller = null;
    this._seen = new Set();
    this._highestSeen = -1;
    /** CONNECTING (0), OPEN (1) or CLOSED (2), as on EventSource. */
    this.readyState = CONNECTING;
    /** Stable for the source's lifetime: it ties the reconnections of one session together. */
    this.sessionId = options.sessionId ?? newSessionId();
    /** 1 on the first connection, +1 on each reconnection. */
    this.connectionSequence = 0;
    /** The trace ID of the last response that carried `X-Amzn-Trace-Id` (null before). */
    this.previousTraceId = null;
    /** The last event id received: sent as `Last-Event-ID` on reconnection. */
    this.lastEventId = "";
    /** Whether the current connection's server replays after Last-Event-ID (null: not said). */
    this.resumeSupported = null;
    this.onmessage = null;
    this.onopen = null;
    this.onerror = null;
    queueMicrotask(() => this._connect());
  }

  /** Stop for good: aborts the request in flight and cancels a pending reconnection. */
  close() {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    if (this._timer !== null) {
      this._clearTimeout(this._timer);
      this._timer = null;
    }
    if (this._controller) this._controller.abort();
    this._controller = null;
  }

  dispatchEvent(event) {
    const handler = this[`on${event.type}`];
    const result = super.dispatchEvent(event);
    if (typeof handler === "function") handler.call(this, event);
    return result;
  }

  async _headers() {
    // Only headers the server's CORS allow-list has (sse.CORS_ALLOW_HEADERS): `cache: "no-store"` below
    // replaces EventSource's Cache-Control, which would need its own preflight permission.
    const headers = {
      Accept: "text/event-stream",
      ...(this._options.headers ?? {}),
      [SESSION_HEADERS.sessionId]: this.sessionId,
      [SESSION_HEADERS.connectionSequence]: String(this.connectionSequence),
    };
    if (this.previousTraceId) headers[SESSION_HEADERS.previousTraceId] = this.previousTraceId;
    if (this.lastEventId && !/[\r\n\0]/.test(this.lastEventId)) headers["Last-Event-ID"] = this.lastEventId;
    if (this._options.traceHeader) {
      let value = null;
      try {
        value = await this._options.traceHeader();
      } catch (error) {
        this._emit("error", { reason: "trace-header", message: String(error), fatal: false });
      }
      if (typeof value === "string" && value.trim() && !/[\r\n\0]/.test(value)) {
        headers["X-Amzn-Trace-Id"] = value.trim();
      }
    }
    return headers;
  }

  async _connect() {
    if (this.readyState === CLOSED) return;
    this._timer = null;
    this.readyState = CONNECTING;
    this.connectionSequence += 1;
    const controller = new AbortController();
    this._controller = controller;
    let graceful = false;
    try {
      const headers = await this._headers();
      if (this.readyState === CLOSED) return;
      const response = await this._fetch(this.url, {
        headers,
        signal: controller.signal,
        cache: "no-store",
        credentials: this._options.credentials ?? "same-origin",
      });
      const traceId = traceIdOf(response.headers.get("X-Amzn-Trace-Id"));
      if (traceId) this.previousTraceId = traceId;
      if (response.status !== 200) {
        const status = response.status;
        const retriable = status >= 500 || status === 408 || status === 429;
        try {
          await response.body?.cancel();
        } catch {}
        throw new HttpStatusError(status, !retriable);
      }
      const type = (response.headers.get("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
      if (type !== "text/event-stream" || !response.body) {
        throw new HttpStatusError(200, true, `HTTP 200 with Content-Type ${type || "(none)"}, not text/event-stream`);
      }
      const resume = response.headers.get(RESUME_HEADER);
      this.resumeSupported = resume === null ? null : resume.trim().toLowerCase() !== "false";
      this.readyState = OPEN;
      this._emit("open", {
        status: response.status,
        traceId,
        connectionSequence: this.connectionSequence,
        resumeSupported: this.resumeSupported,
      });
      await this._read(response.body, controller);
      graceful = true;
    } catch (error) {
      if (this.readyState === CLOSED || controller.signal.aborted) return;
      if (error instanceof HttpStatusError && error.fatal) {
        this.readyState = CLOSED;
        this._controller = null;
        this._emit("error", { reason: "http", status: error.status, fatal: true, message: error.message });
        return;
      }
      const delayMs = backoffDelay(this._failures, this._options.backoff, this._random);
      this._failures += 1;
      this._emit("error", {
        reason: error instanceof HttpStatusError ? "http" : "network",
        status: error instanceof HttpStatusError ? error.status : null,
        message: String(error?.message ?? error),
        fatal: false,
        delayMs,
      });
      this._schedule(delayMs, "error");
      return;
    }
    if (graceful && this.readyState !== CLOSED) {
      this._schedule(this._serverRetryMs ?? this._defaultRetryMs, "closed");
    }
  }

  async _read(body, controller) {
    const parser = new SSEParser(this.lastEventId);
    const reader = body.getReader();
    // `reader.closed` fulfils on a graceful end and rejects on a network error; read() says the same.
    reader.closed.catch(() => {});
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value?.length) this._failures = 0; // data flowed: the next error starts the backoff afresh
        let events;
        let tooLarge = null;
        try {
          events = parser.feed(value);
        } catch (error) {
          if (!(error instanceof SSEParseError)) throw error;
          events = error.events;
          tooLarge = error;
        }
        for (const event of events) {
          if (this.readyState === CLOSED) return;
          this._deliver(event);
        }
        // The id to resend follows every blank line, also of a frame without data (WHATWG "dispatch").
        if (this.readyState !== CLOSED) this.lastEventId = parser.dispatchedId;
        if (tooLarge) this._emit("error", { reason: "too-large", message: tooLarge.message, fatal: false });
        if (parser.retry !== null) this._serverRetryMs = parser.retry;
      }
      if (parser.retry !== null) this._serverRetryMs = parser.retry;
      parser.end();
    } finally {
      if (controller.signal.aborted) reader.cancel().catch(() => {});
    }
  }

  _deliver(event) {
    if (event.hasOwnId && event.id !== "" && this.resumeSupported === false && this._duplicate(event.id)) return;
    this.dispatchEvent(messageEvent(event.event, { data: event.data, lastEventId: event.id, origin: this._origin }));
  }

  _duplicate(id) {
    if (DIGITS.test(id) && id.length < 16) {
      const number = Number(id);
      if (number <= this._highestSeen) return true;
      this._highestSeen = number;
      return false;
    }
    if (this._seen.has(id)) return true;
    this._seen.add(id);
    if (this._seen.size > MAX_SEEN_IDS) this._seen.delete(this._seen.values().next().value);
    return false;
  }

  _schedule(delayMs, cause) {
    if (this.readyState === CLOSED) return;
    // Above 2^31-1 ms setTimeout fires at once: a reconnection storm. Never wait more than that.
    const wait = Math.min(Math.max(0, Number(delayMs) || 0), MAX_RETRY_MS);
    this.readyState = CONNECTING;
    this._controller = null;
    this._emit("reconnecting", { delayMs: wait, cause, connectionSequence: this.connectionSequence + 1 });
    if (this.readyState === CLOSED) return; // a listener closed the source
    this._timer = this._setTimeout(() => this._connect(), wait);
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
