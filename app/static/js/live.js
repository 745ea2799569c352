// The /ws connection: events, presence, automatic reconnection with backoff.
// Protocol: docs/realtime.md. The token rides in the subprotocol list, never in the URL.

const handlers = new Map(); // type -> Set of fn(message)
let socket = null;
let token = null;
let attempt = 0;
let retryTimer = null;
let viewingFile = null;
let greeted = false; // a hello after the first one means events may have been missed

export const live = {
  status: "offline", // connecting | live | reconnecting | offline
  online: [],
  me: null,
  skew: 0, // server clock minus this browser's, in ms (from hello): countdowns use the server's time

  /** The server's "now", in ms since the epoch. */
  now() {
    return Date.now() + this.skew;
  },

  on(type, fn) {
    if (!handlers.has(type)) handlers.set(type, new Set());
    handlers.get(type).add(fn);
    return () => handlers.get(type).delete(fn);
  },

  connect(newToken) {
    token = newToken;
    attempt = 0;
    open();
  },

  disconnect() {
    token = null;
    greeted = false;
    clearTimeout(retryTimer);
    if (socket) socket.close(1000);
    socket = null;
    this.online = [];
    setStatus("offline");
  },

  /** Tell the others which file this tab shows (null: none). Re-sent after every reconnect. */
  viewing(fileId) {
    viewingFile = fileId ?? null;
    send({ type: "viewing", file_id: viewingFile });
  },

  viewersOf(fileId) {
    return this.online.filter((u) => u.viewing.includes(fileId) && u.username !== this.me?.username);
  },
};

function emit(type, message) {
  for (const fn of handlers.get(type) || []) fn(message);
  for (const fn of handlers.get("*") || []) fn(message);
}

function setStatus(status) {
  live.status = status;
  emit("status", { type: "status", status });
}

function send(message) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function open() {
  if (!token) return;
  clearTimeout(retryTimer);
  setStatus(attempt === 0 ? "connecting" : "reconnecting");
  const url = `${location.origin.replace(/^http/, "ws")}/ws`;
  const ws = new WebSocket(url, ["camvault.v1", `bearer.${token}`]);
  socket = ws;
  ws.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    receive(message);
  });
  ws.addEventListener("close", (event) => {
    if (socket !== ws) return; // an old socket closing after a reconnect
    socket = null;
    if (!token) return;
    if (event.code === 1008) {
      // The token is no good any more (logged out elsewhere, deactivated, expired): log in again.
      setStatus("offline");
      emit("unauthorized", { type: "unauthorized", reason: event.reason || "Your session has ended" });
      return;
    }
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  const delay = Math.min(30_000, 1000 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
  attempt += 1;
  setStatus("reconnecting");
  retryTimer = setTimeout(open, delay);
}

function receive(message) {
  switch (message.type) {
    case "hello":
      attempt = 0;
      live.me = message.you;
      if (message.server_time) live.skew = Date.parse(message.server_time) - Date.now();
      live.online = message.online_users;
      setStatus("live");
      if (greeted) emit("reconnected", message);
      greeted = true;
      if (viewingFile !== null) send({ type: "viewing", file_id: viewingFile });
      emit("presence", message);
      break;
    case "user_connected":
    case "user_disconnected":
    case "resync":
      live.online = message.online_users;
      emit("presence", message);
      break;
    case "viewing": {
      const entry = live.online.find((u) => u.user_id === message.user_id);
      if (entry) entry.viewing = message.viewing;
      emit("presence", message);
      break;
    }
    default:
      break;
  }
  emit(message.type, message);
}

/** Release lifecycle transitions of one file (app/journal/lifecycle.py); `files_adopted` concerns many. */
export const LIFECYCLE_EVENTS = ["file_submitted", "file_approved", "file_rejected", "file_released", "file_obsoleted", "file_reinstated"];

/** Every event type the server forwards from the database (app/journal declares them; docs/realtime.md lists
 * them; tests/test_event_types.py holds the three equal). */
export const EVENT_TYPES = [
  "file_uploaded",
  "file_locked",
  "file_unlocked",
  "lock_expired",
  "file_deleted",
  "file_restored",
  "file_submitted",
  "file_approved",
  "file_rejected",
  "file_released",
  "file_obsoleted",
  "file_reinstated",
  "files_adopted",
  "file_moved",
  "folder_created",
  "folder_moved",
  "folder_deleted",
  "card_changed",
  "folder_card_changed",
  "card_fields_changed",
  "links_changed",
  "user_connected",
  "user_disconnected",
  "viewing",
];

/** Every message that says a file changed. */
export const VAULT_EVENTS = [
  "file_locked",
  "file_unlocked",
  "lock_expired",
  "file_uploaded",
  "file_deleted",
  "file_restored",
  "file_moved",
  ...LIFECYCLE_EVENTS,
];

/** Every message that says a folder changed. */
export const FOLDER_EVENTS = ["folder_created", "folder_moved", "folder_deleted"];

/** Who caused an event (null when nobody did, e.g. an expiry): their own actions need no toast. */
export function actorOf(m) {
  if (m.type === "lock_expired") return null;
  return m.type === "file_unlocked" && m.by ? m.by : m.user;
}

export function describeEvent(m) {
  switch (m.type) {
    case "file_locked":
      return m.renewed ? `${m.user} renewed the lock on ${m.path}` : `${m.user} checked out ${m.path}`;
    case "file_unlocked":
      if (m.reason === "force_released") return `${m.by} force-released ${m.user}'s lock on ${m.path}`;
      return m.reason === "checkin" ? `${m.user} checked in ${m.path}` : `${m.user} released ${m.path}`;
    case "lock_expired":
      return `The lock of ${m.user} on ${m.path} expired`;
    case "file_uploaded":
      return m.new_file ? `${m.user} uploaded ${m.path}` : `${m.user} checked in version ${m.version} of ${m.path}`;
    case "file_deleted":
      return `${m.user} deleted ${m.path}`;
    case "file_restored":
      return `${m.user} restored ${m.path}`;
    case "file_submitted":
      return `${m.user} submitted version ${m.version} of ${m.path} for review`;
    case "file_approved":
      return `${m.user} approved ${m.path} (${m.approvals} of ${m.required})`;
    case "file_rejected":
      return `${m.user} rejected version ${m.version} of ${m.path}`;
    case "file_released":
      return `${m.path} released as revision ${m.revision}`;
    case "file_obsoleted":
      return `${m.user} made ${m.path} obsolete`;
    case "file_reinstated":
      return `${m.user} reinstated ${m.path}`;
    case "files_adopted":
      return `${m.user} released ${m.files} file${m.files === 1 ? "" : "s"} as revision ${m.revision}`;
    case "file_moved":
      return `${m.user} moved ${m.old_path} to ${m.path}`;
    case "folder_created":
      return `${m.user} made the folder ${m.path}`;
    case "folder_moved":
      return `${m.user} moved the folder ${m.old_path} to ${m.path}`;
    case "folder_deleted":
      return `${m.user} deleted the folder ${m.path}`;
    case "card_changed":
      return `${m.user} changed the card of ${m.path} (${(m.fields || []).join(", ")})`;
    case "folder_card_changed":
      if (m.via === "folder_deleted") return `${m.user} deleted the folder ${m.folder}, and its card (${(m.fields || []).join(", ")})`;
      return `${m.user} changed the card of the folder ${m.folder} (${(m.fields || []).join(", ")})`;
    case "card_fields_changed":
      return `${m.user} changed the card field ${m.key}`;
    case "links_changed":
      return `${m.user} changed what ${m.path} uses (${m.target})`;
    default:
      return m.type;
  }
}
