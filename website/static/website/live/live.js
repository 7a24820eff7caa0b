/* Outbreak Desk live pages: the WebSocket client and what the map and the dashboard share.
 *
 * Every event the server sends for an area carries that area's sequence number. The client
 * keeps the last number it applied; a snapshot from the read API says which number it is
 * current to. An event it has already seen is skipped, the next one is applied, and one past
 * a gap (or a reconnect, or a hello saying the server moved on) makes it read the snapshot
 * again: a missed event is never silently lost.
 *
 * No user-facing text is written here: labels come from the page (config.labels).
 */
(function () {
  "use strict";

  const CLOSE_UNAUTHENTICATED = 4401;
  const CLOSE_SECOND_FACTOR_NEEDED = 4403; // an admin role whose session has not typed its code
  const RECONNECT_FIRST_MS = 500;
  const RECONNECT_MAX_MS = 30000;
  const RESYNC_RETRY_MS = 3000;
  const RESYNC_AGAIN_MS = 250;
  const RESYNC_AGAIN_TIMES = 3;

  function readConfig(id) {
    return JSON.parse(document.getElementById(id).textContent);
  }

  /** GET ``url`` with ``params`` as the query string; rejects with the API's message on 4xx/5xx. */
  async function fetchJSON(url, params) {
    const query = new URLSearchParams();
    Object.entries(params || {}).forEach(([name, value]) => {
      if (value !== undefined && value !== null && value !== "") query.set(name, value);
    });
    const address = query.toString() ? `${url}?${query}` : url;
    const response = await fetch(address, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const error = new Error(body.detail || body.message || `HTTP ${response.status}`);
      error.status = response.status;
      error.detail = typeof body.detail === "string" ? body.detail : "";
      throw error;
    }
    return response.json();
  }

  /** ``fn`` once, ``wait`` ms after the last of a burst of calls (a burst of events, one fetch). */
  function debounce(fn, wait) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), wait);
    };
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (value === undefined || value === null || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    });
    children.flat().forEach((child) => {
      if (child !== null && child !== undefined) node.append(child);
    });
    return node;
  }

  function formatNumber(value) {
    return Number(value || 0).toLocaleString(document.documentElement.lang || undefined);
  }

  /** A message for the person at the screen (errors of the API come translated). */
  function showMessage(text) {
    const box = document.getElementById("live-message");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }

  /**
   * One WebSocket to /ws/live/, following one area at a time.
   *
   * options.snapshot(area) -> Promise<seq>: read the page's data again; resolves with the seq
   *   the read API reported (the number of the last event the data already include).
   * options.onEvent(event): apply one event, in order, never twice.
   * options.onState(state): "connecting" | "live" | "reconnecting" | "login".
   */
  class LiveClient {
    constructor({ path, area, snapshot, onEvent, onState, onError }) {
      this.path = path;
      this.area = area;
      this.snapshot = snapshot;
      this.onEvent = onEvent;
      this.onState = onState || (() => {});
      this.onError = onError || (() => {});
      this.seq = null; // last event applied (or included in the snapshot); null: none read yet
      this.expected = 0; // the server said it is at least here (hello / subscribed)
      this.buffer = []; // events that arrived while a snapshot was being read
      this.syncing = null;
      this.again = false;
      this.behind = 0; // snapshots in a row that were older than the server said
      this.attempt = 0;
      this.joined = new Set();
      this.socket = null;
    }

    start() {
      this.connect();
      return this.resync();
    }

    connect() {
      const scheme = window.location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${window.location.host}${this.path}`);
      this.socket = socket;
      this.onState(this.attempt ? "reconnecting" : "connecting");
      socket.addEventListener("message", (message) => this.receive(JSON.parse(message.data)));
      socket.addEventListener("close", (event) => this.closed(event, socket));
    }

    /** Closes the line as a network failure would (the page reconnects with backoff). */
    drop() {
      if (this.socket) this.socket.close();
    }

    closed(event, socket) {
      if (socket !== this.socket) return;
      this.socket = null;
      this.joined = new Set();
      if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_SECOND_FACTOR_NEEDED) {
        this.onState("login");
        return;
      }
      this.attempt += 1;
      const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** (this.attempt - 1));
      const delay = ceiling * (0.5 + Math.random() / 2); // jitter: hundreds of pages, not at once
      this.onState("reconnecting");
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    }

    send(message) {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
    }

    receive(message) {
      switch (message.type) {
        case "hello":
          this.attempt = 0;
          this.joined = new Set();
          this.onState("live");
          this.serverAt(message.areas);
          this.ensureJoined();
          this.leaveOthers();
          break;
        case "subscribed":
          this.serverAt(message.areas);
          break;
        case "unsubscribed":
          break;
        case "error":
          window.console.warn("live:", message.message);
          break;
        default:
          if (typeof message.seq === "number" && message.area !== undefined) this.event(message);
      }
    }

    /** The groups joined and the seq each one is at: behind it, read the snapshot again. A
     * number below ours means the numbering started again (a new database): read it too. The
     * server says hello again, on the same socket, after its channel layer lost Redis. */
    serverAt(areas) {
      Object.entries(areas || {}).forEach(([code, seq]) => {
        this.joined.add(code);
        if (code !== this.area) return;
        if (this.seq !== null && seq < this.seq) {
          this.seq = null;
          this.expected = 0;
        }
        this.expected = Math.max(this.expected, seq);
        if (!this.syncing && (this.seq === null || seq > this.seq)) this.resync();
      });
    }

    ensureJoined() {
      if (this.area && !this.joined.has(this.area)) this.send({ subscribe: this.area });
    }

    /** The socket joins the top of the user's scope by itself; a page that follows an area
     * below it leaves that group, whose copies it would only skip. */
    leaveOthers() {
      [...this.joined].filter((code) => code !== this.area).forEach((code) => {
        this.send({ unsubscribe: code });
        this.joined.delete(code);
      });
    }

    /** Follow another area: leave the old group, join the new one, read its snapshot. */
    watch(area) {
      const previous = this.area;
      this.area = area;
      this.seq = null;
      this.expected = 0;
      this.behind = 0;
      this.buffer = [];
      if (previous && previous !== area && this.joined.has(previous)) {
        this.send({ unsubscribe: previous });
        this.joined.delete(previous);
      }
      this.ensureJoined();
      return this.resync();
    }

    event(message) {
      if (message.area !== this.area) return; // another group's copy (e.g. a province's)
      if (this.syncing) {
        this.buffer.push(message);
        return;
      }
      if (this.seq === null || message.seq > this.seq + 1) {
        this.buffer.push(message); // a gap: what came before this one was missed
        this.resync();
        return;
      }
      if (message.seq <= this.seq) return; // already in the snapshot
      this.seq = message.seq;
      this.onEvent(message);
    }

    resync() {
      if (this.syncing) {
        this.again = true;
        return this.syncing;
      }
      clearTimeout(this.retryTimer);
      const area = this.area;
      this.syncing = Promise.resolve()
        .then(() => this.snapshot(area))
        .then(
          (seq) => {
            this.syncing = null;
            if (area !== this.area || this.again) {
              this.again = false;
              return this.resync();
            }
            this.seq = Number(seq) || 0;
            this.drain();
            return this.seq;
          },
          (error) => {
            this.syncing = null;
            this.again = false;
            this.onError(error);
            // A 4xx (a bad range, an area gone) will not mend by asking again; the rest may.
            const refused = error.status >= 400 && error.status < 500;
            if (!refused) this.retryTimer = setTimeout(() => this.resync(), RESYNC_RETRY_MS);
          },
        );
      return this.syncing;
    }

    /** Apply what arrived during the read, then read again (a few times at most) if the server
     * was already further than the snapshot says. */
    drain() {
      const pending = this.buffer.sort((a, b) => a.seq - b.seq);
      this.buffer = [];
      pending.forEach((message) => {
        if (message.seq > this.seq + 1) this.expected = Math.max(this.expected, message.seq);
        else this.event(message);
      });
      if (this.expected > this.seq && this.behind < RESYNC_AGAIN_TIMES) {
        this.behind += 1;
        this.retryTimer = setTimeout(() => this.resync(), RESYNC_AGAIN_MS);
      } else {
        this.expected = 0;
        this.behind = 0;
      }
    }
  }

  /** The smallest seq among several snapshots: events after it are applied (again, harmlessly). */
  function oldestSeq(responses) {
    const seqs = responses.map((response) => response && response.seq).filter((seq) => typeof seq === "number");
    return seqs.length ? Math.min(...seqs) : 0;
  }

  /**
   * The toolbar: breadcrumb of areas, the areas below, the date range, the connection state.
   * ``onChange()`` runs after the area or the range changed; the URL follows (no reload).
   */
  class AreaNav {
    constructor(config, onChange) {
      this.config = config;
      this.labels = config.labels;
      this.onChange = onChange;
      this.trail = config.trail.slice();
      this.range = { from: config.from, to: config.to };
      this.trailBox = document.getElementById("live-trail");
      this.childSelect = document.getElementById("live-child");
      this.rangeForm = document.getElementById("live-range");
      this.status = document.getElementById("live-status");
      this.bind();
      this.setChildren(config.children);
    }

    get area() {
      return this.trail[this.trail.length - 1];
    }

    bind() {
      this.trailBox.addEventListener("click", (event) => {
        const link = event.target.closest("[data-area]");
        if (!link) return;
        event.preventDefault();
        const index = this.trail.findIndex((area) => area.code === link.dataset.area);
        if (index >= 0) this.go(this.trail.slice(0, index + 1));
      });
      this.childSelect.addEventListener("change", () => {
        const child = (this.children || []).find((area) => area.code === this.childSelect.value);
        if (child) this.drill(child);
      });
      this.rangeForm.addEventListener("submit", (event) => {
        event.preventDefault();
        const data = new FormData(this.rangeForm);
        this.range = { from: data.get("from"), to: data.get("to") };
        this.pushUrl();
        this.onChange();
      });
      window.addEventListener("popstate", () => window.location.reload());
    }

    drill(child) {
      this.go([...this.trail, { code: child.code, name: child.name }]);
    }

    go(trail) {
      this.trail = trail;
      this.setChildren([]);
      this.renderTrail();
      this.pushUrl();
      this.onChange();
    }

    renderTrail() {
      const items = this.trail.map((area, index) =>
        index === this.trail.length - 1
          ? element("strong", { "aria-current": "page", text: area.name })
          : [element("a", { href: `?area=${encodeURIComponent(area.code)}`, "data-area": area.code, text: area.name }), " › "],
      );
      this.trailBox.replaceChildren(...items.flat());
      this.rangeForm.querySelector("[name=area]").value = this.area.code;
    }

    /** The areas one level down, as the dashboard API lists them. */
    setChildren(children) {
      this.children = children || [];
      const first = this.childSelect.options[0];
      this.childSelect.replaceChildren(first, ...this.children.map((area) => element("option", { value: area.code, text: area.name })));
      this.childSelect.value = "";
      this.childSelect.closest("label").hidden = this.children.length === 0;
    }

    pushUrl() {
      const query = new URLSearchParams({ area: this.area.code, from: this.range.from, to: this.range.to });
      window.history.pushState(null, "", `?${query}`);
    }

    params() {
      return { area: this.area.code, from: this.range.from, to: this.range.to };
    }

    showState(state) {
      this.status.dataset.state = state;
      this.status.textContent = this.labels[state] || state;
    }
  }

  window.OutbreakLive = { readConfig, fetchJSON, debounce, element, formatNumber, showMessage, oldestSeq, LiveClient, AreaNav };
})();
