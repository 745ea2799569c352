// The page's side of the NC worker: messages in and out, and loading a version of a file into it.
import { session } from "../api.js";

export class NcWorker {
  constructor() {
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.listeners = new Map();
    this.worker.addEventListener("message", (event) => this.emit(event.data.type, event.data));
    this.worker.addEventListener("error", (event) => this.emit("error", { message: event.message || "The viewer's worker failed" }));
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, data) {
    for (const fn of this.listeners.get(type) || []) fn(data);
  }

  send(message, transfer = []) {
    this.worker.postMessage(message, transfer);
  }

  /** Fetch a version in the worker and parse it (`nc`) or only find its lines; resolves with the "loaded" message
   * (the text's bytes, the byte offset where each line starts, and for programs the facts, marks and tools). */
  load(side, fileId, version, rapidRate, nc = true) {
    return new Promise((resolve, reject) => {
      const offs = [
        this.on("loaded", (m) => m.side === side && done(() => resolve(m))),
        this.on("error", (m) => (m.side === side || m.side === undefined) && done(() => reject(new Error(m.message)))),
      ];
      const done = (then) => {
        offs.forEach((off) => off());
        then();
      };
      const url = `/api/files/${fileId}/content${version ? `?version=${version}` : ""}`;
      this.send({ type: "load", side, url, token: session.token, rapidRate, nc });
    });
  }

  /** Send a request and wait for its answer (a message of type `answer`), or its error. */
  request(message, answer) {
    return new Promise((resolve, reject) => {
      const offs = [
        this.on(answer, (m) => done(() => resolve(m))),
        this.on("error", (m) => m.request === message.type && done(() => reject(new Error(m.message)))),
      ];
      const done = (then) => {
        offs.forEach((off) => off());
        then();
      };
      this.send(message);
    });
  }

  terminate() {
    this.worker.terminate();
    this.listeners.clear();
  }
}

/** Whether a version is text: no NUL byte in its first 8 KiB (as the server decides for diff and blame). */
export async function isTextVersion(fileId, version) {
  const url = `/api/files/${fileId}/content${version ? `?version=${version}` : ""}`;
  const response = await fetch(url, { headers: { Authorization: `Bearer ${session.token}`, Range: "bytes=0-8191" } });
  if (!response.ok && response.status !== 416) throw new Error(`Could not read the file (${response.status})`);
  const head = new Uint8Array(await response.arrayBuffer());
  return !head.includes(0);
}
