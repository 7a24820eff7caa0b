/* Outbreak Desk form page.
 *
 * Renders a form version's schema (docs/forms.md) as a mobile form, evaluates show_if
 * conditions live, checks values the way the server does, and submits through the IndexedDB
 * outbox (outbox.js): an item is stored first, then sent, and removed only after 201/200.
 * Plain script, no build step, no dependencies; Leaflet is loaded from our static files only
 * when the form has a GPS field.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------------
  // Vietnamese UI text (labels and help come from the schema).
  const T = {
    submit: "Gửi",
    sending: "Đang gửi…",
    add: "Thêm",
    remove: "Xóa",
    required: "Bắt buộc",
    requiredNote: "Mục có dấu * là bắt buộc.",
    choose: "— Chọn —",
    yes: "Có",
    no: "Không",
    item: "Mục",
    errRequired: "Bắt buộc: vui lòng điền mục này.",
    errMinLength: (n) => `Cần ít nhất ${n} ký tự.`,
    errMaxLength: (n) => `Tối đa ${n} ký tự.`,
    errPattern: "Không đúng định dạng.",
    errNumber: "Phải là một số.",
    errInteger: "Phải là số nguyên.",
    errDecimals: (n) => `Tối đa ${n} chữ số sau dấu phẩy.`,
    errMin: (n) => `Không được nhỏ hơn ${formatNumber(n)}.`,
    errMax: (n) => `Không được lớn hơn ${formatNumber(n)}.`,
    errDate: "Ngày không hợp lệ.",
    errDateTime: "Ngày giờ không hợp lệ.",
    errTime: "Giờ không hợp lệ.",
    errFuture: "Không được là thời điểm trong tương lai.",
    errPhone: "Số điện thoại không hợp lệ (ví dụ: 0912 345 678).",
    errIdBoth: "Số CCCD gồm 12 chữ số hoặc CMND gồm 9 chữ số.",
    errIdCccd: "Số CCCD gồm 12 chữ số.",
    errIdCmnd: "Số CMND gồm 9 chữ số.",
    errMinSelected: (n) => `Chọn ít nhất ${n} mục.`,
    errMaxSelected: (n) => `Chọn nhiều nhất ${n} mục.`,
    errMinItems: (n) => `Cần ít nhất ${n} mục.`,
    errMaxItems: (n) => `Nhiều nhất ${n} mục.`,
    errFileSize: (n) => `Tệp quá lớn (tối đa ${n} MB).`,
    errFileType: "Loại tệp này không được nhận.",
    errLatLng: "Cần nhập đủ vĩ độ (−90 đến 90) và kinh độ (−180 đến 180).",
    summary: (n) => `Có ${n} mục chưa đúng, vui lòng kiểm tra lại.`,
    summaryServer: "Máy chủ chưa nhận phiếu vì có mục chưa đúng. Sửa rồi bấm Gửi lại.",
    fullName: "Họ và tên",
    birthYear: "Năm sinh",
    birthDate: "Ngày sinh",
    birthDateIfKnown: "Ngày sinh (nếu biết)",
    sex: "Giới tính",
    male: "Nam",
    female: "Nữ",
    nationalId: "Số CCCD/CMND",
    phone: "Số điện thoại",
    homeArea: "Nơi cư trú",
    address: "Địa chỉ (số nhà, đường, thôn/tổ)",
    nextLevel: "Cấp tiếp theo",
    errAreaDepth: "Vui lòng chọn đến cấp thấp nhất.",
    loading: "Đang tải…",
    loadFailed: "Không tải được danh sách (có thể do mất mạng).",
    retry: "Thử lại",
    chooseArea: "— Chọn địa bàn —",
    choosePlace: "— Chọn địa điểm —",
    qrPlace: "Theo mã QR",
    qrBanner: (name) => `Địa điểm: ${name} (theo mã QR)`,
    geoLocate: "Lấy vị trí hiện tại",
    geoLocating: "Đang lấy vị trí…",
    geoClear: "Xóa vị trí",
    geoNone: "Chưa có vị trí.",
    geoValue: (p) =>
      `Vĩ độ ${p.lat.toFixed(5)}, kinh độ ${p.lng.toFixed(5)}` +
      (p.accuracy != null ? ` (sai số khoảng ${Math.round(p.accuracy)} m)` : ""),
    geoDenied: "Bạn chưa cho phép truy cập vị trí. Hãy bật định vị hoặc nhập tọa độ.",
    geoTimeout: "Không lấy được vị trí (hết thời gian chờ). Hãy thử lại ngoài trời.",
    geoUnavailable: "Thiết bị không lấy được vị trí. Hãy nhập tọa độ.",
    geoMapHint: "Kéo ghim hoặc chạm vào bản đồ để chỉnh vị trí.",
    geoManual: "Nhập tọa độ",
    lat: "Vĩ độ",
    lng: "Kinh độ",
    fileNote: "Ảnh được lưu trên máy và tải lên khi gửi phiếu.",
    fileRemove: "Bỏ tệp",
    fileChosen: (name, size) => `Đã chọn: ${name} (${size})`,
    sentTitle: "Đã gửi",
    sentDefault: "Đã ghi nhận",
    inReview: "Phiếu đang chờ duyệt.",
    queuedTitle: "Đã lưu trên máy, đang chờ gửi",
    queuedOffline: "Chưa có mạng nên phiếu chưa gửi được. Phiếu sẽ tự gửi khi có mạng, không cần điền lại.",
    queuedServer: "Máy chủ chưa nhận được phiếu. Phiếu đã lưu trên máy và sẽ tự gửi lại.",
    queuedLimited: (s) => `Máy chủ đang bận. Phiếu đã lưu trên máy và sẽ tự gửi lại sau khoảng ${s} giây.`,
    authTitle: "Cần đăng nhập",
    authText: "Phiên đăng nhập đã hết hoặc chưa đăng nhập. Phiếu đã lưu trên máy; hãy đăng nhập để gửi.",
    login: "Đăng nhập",
    conflictTitle: "Phiếu bị trùng",
    conflictText:
      "Máy chủ đã có một phiếu khác mang cùng mã này (xung đột). Phiếu vẫn được giữ trong danh sách chờ để bạn xử lý.",
    newForm: "Điền phiếu mới",
    pending: (n) => `Đang chờ gửi: ${n}`,
    sendNow: "Gửi ngay",
    deliveredLater: (n) => `Đã gửi ${n} phiếu đang chờ.`,
    stateNeedsFix: "Cần sửa lại",
    stateInReview: "Đã gửi, đang chờ duyệt",
    stateRejected: (reason) => (reason ? `Bị từ chối: ${reason}` : "Bị từ chối"),
    stateConflict: "Bị trùng (xung đột)",
    statePending: "Đang chờ gửi",
    stateAuth: "Cần đăng nhập để gửi",
    stateAttempts: (n) => `đã thử ${n} lần`,
    fix: "Sửa",
    sendAsNew: "Gửi như phiếu mới",
    deleteConfirm: "Xóa phiếu này khỏi máy? Dữ liệu chưa gửi sẽ mất.",
    fixBanner: "Phiếu này chưa được nhận vì có mục chưa đúng. Sửa các mục được đánh dấu rồi bấm Gửi.",
    offlineReady: "Biểu mẫu đã được lưu để dùng khi mất mạng.",
    storageFailed: "Trình duyệt không cho lưu phiếu trên máy; phiếu sẽ được gửi thẳng.",
    uploadFailed: "Không tải được tệp lên.",
  };

  const SUBMIT_TIMEOUT_MS = 30000;
  const UPLOAD_TIMEOUT_MS = 120000;
  const BACKOFF_BASE_MS = 5000;
  const BACKOFF_MAX_MS = 15 * 60 * 1000;
  const LOCK_NAME = "outbreak-desk-outbox";
  const DECISIONS_POLL_MS = 2 * 60 * 1000;

  const Outbox = window.OutbreakOutbox;
  const app = document.getElementById("form-app");
  if (!app || !Outbox) return;

  const cfg = {
    swUrl: app.dataset.swUrl || "",
    loginUrl: app.dataset.loginUrl || "/admin/login/",
    thankYou: app.dataset.thankYou || "",
    leafletJs: app.dataset.leafletJs || "",
    leafletCss: app.dataset.leafletCss || "",
    tileUrl: app.dataset.tileUrl || "",
    tileAttribution: app.dataset.tileAttribution || "",
    uploadsUrl: app.dataset.uploadsUrl || "/api/v1/uploads",
    areasUrl: app.dataset.areasUrl || "/api/v1/areas",
    placesUrl: app.dataset.placesUrl || "/api/v1/places",
    decisionsUrl: app.dataset.decisionsUrl || "/api/v1/submissions/mine",
    mapLat: Number(app.dataset.mapLat) || 12.2388,
    mapLng: Number(app.dataset.mapLng) || 109.1967,
  };
  const doc = readJson("form-schema");
  const qrPlace = readJson("form-qr-place");
  const initial = readJson("form-initial"); // values the first new form opens with

  // ---------------------------------------------------------------------------------------
  // Small helpers

  function readJson(id) {
    const el = document.getElementById(id);
    if (!el) return null;
    try {
      return JSON.parse(el.textContent);
    } catch (_) {
      return null;
    }
  }

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") el.className = value;
      else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
    return el;
  }

  /** Replace an element's children; arrays are flattened and null/false skipped, as in h(). */
  function setChildren(el, ...children) {
    el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  }

  let idCounter = 0;
  function nextId(key) {
    idCounter += 1;
    return `f-${(key || "x").replace(/[^a-z0-9_]/gi, "")}-${idCounter}`;
  }

  /** Empty as the server sees it: None, "", blank text, [] and {}. */
  function isEmpty(value) {
    if (value === undefined || value === null) return true;
    if (typeof value === "string") return !value.trim();
    if (Array.isArray(value)) return value.length === 0;
    if (typeof value === "object" && !(value instanceof Blob) && !value.__file) return Object.keys(value).length === 0;
    return false;
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  /** Local (device) date or minute as the schema's text form: "YYYY-MM-DD" / "YYYY-MM-DDTHH:MM". */
  function localIso(date, withTime) {
    const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
    return withTime ? `${day}T${pad(date.getHours())}:${pad(date.getMinutes())}` : day;
  }

  function formatNumber(n) {
    return String(n).replace(".", ",");
  }

  function formatSize(bytes) {
    return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1).replace(".", ",")} MB` : `${Math.ceil(bytes / 1024)} KB`;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // Pages served over plain HTTP (not a secure context) have getRandomValues only.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const x = Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  /** The CSRF token: the cookie (fresh even on a page served from the offline cache), else the page's. */
  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function lowerFirst(text) {
    // "Người đi cùng" -> "người đi cùng", but keep "F1", "CCCD".
    return /^\p{Lu}\p{Ll}/u.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
  }

  function textWithBreaks(text) {
    const parts = String(text || "").split(/\r?\n/);
    return parts.flatMap((part, i) => (i ? [h("br"), part] : [part]));
  }

  async function fetchJson(url) {
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "Accept-Language": document.documentElement.lang || "vi" },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response.json();
  }

  const listCache = new Map();
  function fetchList(url) {
    // Repeat items share one request per URL; a failure is forgotten so "Thử lại" refetches.
    if (!listCache.has(url)) {
      const promise = fetchJson(url).catch((error) => {
        listCache.delete(url);
        throw error;
      });
      listCache.set(url, promise);
    }
    return listCache.get(url);
  }

  /** A list did not load (offline and never saved): say so, with a button to try again. */
  function loadFailed(statusEl, retry) {
    setChildren(statusEl, T.loadFailed, " ", h("button", { type: "button", class: "fe-link", onclick: retry }, T.retry));
  }

  function withQuery(url, params) {
    const query = new URLSearchParams(params).toString();
    return query ? `${url}${url.includes("?") ? "&" : "?"}${query}` : url;
  }

  // ---------------------------------------------------------------------------------------
  // Checks: the same rules as the server's validator (docs/forms.md).

  // Vietnamese mobile (03/05/07/08/09 + 8 digits) and landline (02xx + 7–8 digits) numbers;
  // a foreign number in +… form is left to the server (it checks with libphonenumber).
  const PHONE_VN_RE = /^(?:\+?84|0)(?:[35789]\d{8}|2\d{9})$/;
  const PHONE_INTL_RE = /^\+(?!84)[1-9]\d{6,14}$/;
  const TEXT_MAX = { text: 500, textarea: 5000 }; // the server's hard limits

  function compactPhone(text) {
    return text.replace(/[\s.\-()]/g, "");
  }

  function textErrors(field, text) {
    const rules = field.validation || {};
    const length = Array.from(text).length; // code points, as Python's len()
    const cap = TEXT_MAX[field.type] || TEXT_MAX.text;
    const maximum = Math.min(rules.max_length || cap, cap);
    const errors = [];
    if (rules.min_length && length < rules.min_length) errors.push(T.errMinLength(rules.min_length));
    if (length > maximum) errors.push(T.errMaxLength(maximum));
    if (rules.pattern) {
      let regex = null;
      try {
        regex = new RegExp(`^(?:${rules.pattern})$`);
      } catch (_) {
        regex = null; // a Python-only pattern: the server decides
      }
      if (regex && !regex.test(text)) errors.push(rules.pattern_message || T.errPattern);
    }
    return errors;
  }

  /** Parse a typed number ("36,5" or "36.5"); {value, errors}. */
  function readNumber(field, text) {
    const normal = text.replace(/\s/g, "").replace(",", ".");
    if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(normal)) return { value: undefined, errors: [T.errNumber] };
    const value = Number(normal);
    const errors = [];
    const decimals = (normal.split(".")[1] || "").replace(/0+$/, "").length;
    if (!field.decimal && !Number.isInteger(value)) errors.push(T.errInteger);
    else if (field.decimal && field.decimal_places != null && decimals > field.decimal_places) {
      errors.push(field.decimal_places === 0 ? T.errInteger : T.errDecimals(field.decimal_places));
    }
    if (field.min != null && value < field.min) errors.push(T.errMin(field.min));
    if (field.max != null && value > field.max) errors.push(T.errMax(field.max));
    return { value, errors };
  }

  function validDate(text) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
    const [y, m, d] = text.split("-").map(Number);
    const date = new Date(y, m - 1, d);
    return date.getFullYear() === y && date.getMonth() === m - 1 && date.getDate() === d;
  }

  /** {value, errors} for the single-input types; value is undefined when empty or invalid. */
  function readScalar(field, raw) {
    const text = (raw || "").trim();
    if (!text) return { value: undefined, errors: [] };
    switch (field.type) {
      case "number":
        return readNumber(field, text);
      case "date": {
        if (!validDate(text)) return { value: undefined, errors: [T.errDate] };
        const future = field.allow_future === false && text > localIso(new Date(), false);
        return { value: text, errors: future ? [T.errFuture] : [] };
      }
      case "datetime": {
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text) || !validDate(text.slice(0, 10))) {
          return { value: undefined, errors: [T.errDateTime] };
        }
        const future = field.allow_future === false && text.slice(0, 16) > localIso(new Date(), true);
        return { value: text, errors: future ? [T.errFuture] : [] };
      }
      case "time":
        return /^([01]\d|2[0-3]):[0-5]\d$/.test(text)
          ? { value: text, errors: [] }
          : { value: undefined, errors: [T.errTime] };
      case "phone": {
        const phone = compactPhone(text);
        return PHONE_VN_RE.test(phone) || PHONE_INTL_RE.test(phone)
          ? { value: phone, errors: [] }
          : { value: undefined, errors: [T.errPhone] };
      }
      case "national_id": {
        const digits = text.replace(/[\s.\-]/g, "");
        const accept = field.accept && field.accept.length ? field.accept : ["cccd", "cmnd"];
        const ok =
          /^\d+$/.test(digits) &&
          ((accept.includes("cccd") && digits.length === 12) || (accept.includes("cmnd") && digits.length === 9));
        if (ok) return { value: digits, errors: [] };
        const message =
          accept.includes("cccd") && accept.includes("cmnd")
            ? T.errIdBoth
            : accept.includes("cccd")
              ? T.errIdCccd
              : T.errIdCmnd;
        return { value: undefined, errors: [message] };
      }
      default:
        return { value: text, errors: textErrors(field, text) };
    }
  }

  // ---------------------------------------------------------------------------------------
  // Conditions (show_if): evaluated live; a hidden field has no value and is never required.

  // The same semantics as the server's compare() and same() (forms_engine/validation.py):
  // a choice stored as text ("2") equals a condition value typed as a number (2);
  // booleans equal only booleans.
  const UNKNOWN = Symbol("unknown field");

  function pyEq(a, b) {
    if (typeof a === "boolean" || typeof b === "boolean") return a === b;
    if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
    if (typeof a === "object" || typeof b === "object") return JSON.stringify(a) === JSON.stringify(b);
    if (typeof a === "number" && typeof b === "number") return a === b;
    return String(a) === String(b);
  }

  function pyIn(item, container) {
    return Array.isArray(container) && container.some((c) => pyEq(item, c));
  }

  function pyFloat(x) {
    if (typeof x === "number") return x;
    if (typeof x === "boolean") return x ? 1 : 0;
    if (typeof x !== "string") return null;
    const t = x.trim();
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number(t);
    if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
    if (/^[+-]?nan$/i.test(t)) return NaN;
    return null;
  }

  function pyStr(x) {
    return typeof x === "boolean" ? (x ? "True" : "False") : String(x);
  }

  function compare(actual, op, expected) {
    if (op === "set") return !isEmpty(actual);
    if (isEmpty(actual)) return op === "ne" && !isEmpty(expected);
    if (Array.isArray(actual)) {
      if (op === "eq") return pyIn(expected, actual);
      if (op === "ne") return !pyIn(expected, actual);
      if (op === "in") return actual.some((item) => pyIn(item, expected || []));
      return false;
    }
    if (op === "eq") return pyEq(actual, expected);
    if (op === "ne") return !pyEq(actual, expected);
    if (op === "in") return pyIn(actual, expected || []);
    if (op === "gt" || op === "lt") {
      let left = pyFloat(actual);
      let right = pyFloat(expected);
      if (left === null || right === null) {
        left = pyStr(actual);
        right = pyStr(expected);
      }
      return op === "gt" ? left > right : left < right;
    }
    return false;
  }

  function testCondition(cond, value) {
    if (value === UNKNOWN) return false; // a condition on a field that does not exist
    return compare(value, cond.op, cond.value);
  }

  function evaluate(showIf, lookup) {
    if (!showIf) return true;
    const [mode, conditions] = Object.entries(showIf)[0] || ["all", []];
    const outcomes = (conditions || []).map((c) => testCondition(c, lookup(c.field)));
    return mode === "all" ? outcomes.every(Boolean) : outcomes.some(Boolean);
  }

  // ---------------------------------------------------------------------------------------
  // Controls: one per field instance. Each has wrapper, visible, value(), setValue(v),
  // validate() (shows its errors, returns true when valid), showErrors(messages, restOfPath),
  // clearErrors().

  const controlOf = new WeakMap(); // wrapper element -> control (to clear errors on input)
  const knownAreaChains = new Map(); // area code -> [codes from the form's area down to it]

  function requiredMark() {
    return h(
      "span",
      { class: "fe-req" },
      h("span", { "aria-hidden": "true" }, " *"),
      h("span", { class: "visually-hidden" }, ` (${T.required.toLowerCase()})`),
    );
  }

  /** The wrapper of a field: div + <label for> for one input, fieldset + legend for a group. */
  function shell(field, { id, group }) {
    const title = [field.label, field.required ? requiredMark() : null];
    const wrapper = group
      ? h("fieldset", { class: "fe-field fe-group" }, h("legend", { class: "fe-label" }, title))
      : h("div", { class: "fe-field" }, h("label", { class: "fe-label", for: id }, title));
    wrapper.dataset.key = field.key || "";
    wrapper.dataset.type = field.type;
    const helpId = `${id}-help`;
    const errorId = `${id}-err`;
    if (field.help_text) wrapper.append(h("p", { class: "fe-help", id: helpId }, field.help_text));
    const error = h("p", { class: "fe-error", id: errorId, hidden: true });
    const describedBy = [field.help_text ? helpId : null, errorId].filter(Boolean).join(" ");
    return { wrapper, error, describedBy };
  }

  class Control {
    constructor(field) {
      this.field = field;
      this.key = field.key;
      this.visible = true;
      this.wrapper = null;
      this.errorEl = null;
    }

    mount(wrapper, errorEl, inputs, focusTarget) {
      this.wrapper = wrapper;
      this.errorEl = errorEl;
      this.inputs = inputs; // () => elements that get aria-invalid
      if (errorEl) errorEl.fe_focus = focusTarget || (() => inputs()[0]);
      controlOf.set(wrapper, this);
    }

    setVisible(visible) {
      this.visible = visible;
      this.wrapper.hidden = !visible;
      if (!visible) this.clearErrors();
    }

    value() {
      return undefined;
    }

    setValue() {}

    validate() {
      return true;
    }

    showErrors(messages) {
      if (!this.errorEl) return false;
      if (!messages || !messages.length) {
        this.clearErrors();
        return true;
      }
      this.errorEl.textContent = messages.join(" ");
      this.errorEl.hidden = false;
      for (const input of this.inputs()) input.setAttribute("aria-invalid", "true");
      return true;
    }

    clearErrors() {
      if (!this.errorEl) return;
      this.errorEl.textContent = "";
      this.errorEl.hidden = true;
      for (const input of this.inputs()) input.removeAttribute("aria-invalid");
    }

    /** Apply the required rule after the type's own errors. */
    finish(value, errors) {
      if (!errors.length && isEmpty(value) && this.field.required) errors = [T.errRequired];
      if (errors.length) this.showErrors(errors);
      else this.clearErrors();
      return !errors.length;
    }
  }

  class StaticControl extends Control {
    constructor(field) {
      super(field);
      this.isStatic = true;
      const body =
        field.type === "heading"
          ? h("h2", { class: "fe-heading" }, field.text || "")
          : h("p", { class: "fe-info" }, textWithBreaks(field.text));
      this.mount(h("div", { class: "fe-static" }, body), null, () => []);
    }
  }

  /** text, textarea, number, date, datetime, time, phone, national_id */
  class InputControl extends Control {
    constructor(field) {
      super(field);
      const id = nextId(field.key);
      const s = shell(field, { id });
      const rules = field.validation || {};
      const common = {
        id,
        class: "fe-input",
        "aria-describedby": s.describedBy,
        "aria-required": field.required ? "true" : null,
      };
      const byType = {
        textarea: () => h("textarea", { ...common, rows: 4, maxlength: rules.max_length }),
        number: () =>
          h("input", {
            ...common,
            type: "text",
            inputmode: field.decimal ? "decimal" : "numeric",
            autocomplete: "off",
            enterkeyhint: "next",
          }),
        date: () =>
          h("input", { ...common, type: "date", max: field.allow_future === false ? localIso(new Date(), false) : null }),
        datetime: () =>
          h("input", {
            ...common,
            type: "datetime-local",
            max: field.allow_future === false ? localIso(new Date(), true) : null,
          }),
        time: () => h("input", { ...common, type: "time" }),
        phone: () =>
          h("input", { ...common, type: "tel", inputmode: "tel", autocomplete: "tel", enterkeyhint: "next" }),
        national_id: () =>
          h("input", { ...common, type: "text", inputmode: "numeric", autocomplete: "off", enterkeyhint: "next" }),
      };
      this.input = (byType[field.type] || (() => null))() ||
        h("input", {
          ...common,
          type: "text",
          maxlength: rules.max_length,
          autocomplete: field.autocomplete || "off",
          enterkeyhint: "next",
        });
      s.wrapper.append(this.input, s.error);
      this.mount(s.wrapper, s.error, () => [this.input]);
    }

    read() {
      return readScalar(this.field, this.input.value);
    }

    value() {
      return this.read().value;
    }

    setValue(value) {
      this.input.value = value === undefined || value === null ? "" : String(value);
    }

    validate() {
      const { value, errors } = this.read();
      return this.finish(value, errors);
    }
  }

  /** choice, boolean (radios or, for long lists, a select) and multichoice (checkboxes) */
  class ChoiceControl extends Control {
    constructor(field) {
      super(field);
      const id = nextId(field.key);
      this.multiple = field.type === "multichoice";
      this.boolean = field.type === "boolean";
      this.choices = this.boolean
        ? [
            { value: "true", label: T.yes },
            { value: "false", label: T.no },
          ]
        : field.choices || [];
      this.useSelect = !this.multiple && !this.boolean && this.choices.length > 6;
      const s = shell(field, { id, group: !this.useSelect });
      if (this.useSelect) {
        this.select = h(
          "select",
          {
            id,
            class: "fe-input",
            "aria-describedby": s.describedBy,
            "aria-required": field.required ? "true" : null,
          },
          h("option", { value: "" }, T.choose),
          this.choices.map((c) => h("option", { value: String(c.value) }, c.label)),
        );
        s.wrapper.append(this.select, s.error);
        this.mount(s.wrapper, s.error, () => [this.select]);
      } else {
        const name = `${id}-opt`;
        this.boxes = this.choices.map((choice, i) => {
          const optionId = `${id}-${i}`;
          const input = h("input", {
            type: this.multiple ? "checkbox" : "radio",
            id: optionId,
            name,
            value: String(choice.value),
            "aria-describedby": s.describedBy,
          });
          s.wrapper.append(h("label", { class: "fe-option", for: optionId }, input, h("span", {}, choice.label)));
          return input;
        });
        s.wrapper.classList.add(this.boolean ? "fe-inline" : "fe-options");
        s.wrapper.append(s.error);
        this.mount(
          s.wrapper,
          s.error,
          () => this.boxes,
          () => this.boxes.find((b) => b.checked) || this.boxes[0],
        );
      }
    }

    typed(raw) {
      if (this.boolean) return raw === "true";
      const choice = this.choices.find((c) => String(c.value) === raw);
      return choice ? choice.value : raw;
    }

    value() {
      if (this.useSelect) return this.select.value ? this.typed(this.select.value) : undefined;
      const checked = this.boxes.filter((b) => b.checked).map((b) => this.typed(b.value));
      if (this.multiple) return checked.length ? checked : undefined;
      return checked.length ? checked[0] : undefined;
    }

    setValue(value) {
      const wanted = (Array.isArray(value) ? value : isEmpty(value) ? [] : [value]).map(String);
      if (this.useSelect) this.select.value = wanted[0] || "";
      else for (const box of this.boxes) box.checked = wanted.includes(box.value);
    }

    validate() {
      const value = this.value();
      const errors = [];
      const f = this.field;
      if (this.multiple && value) {
        if (f.min_selected != null && value.length < f.min_selected) errors.push(T.errMinSelected(f.min_selected));
        if (f.max_selected != null && value.length > f.max_selected) errors.push(T.errMaxSelected(f.max_selected));
      }
      return this.finish(value, errors);
    }
  }

  /** A group of sub-controls: the form itself, one repeat item, a person. */
  class Group {
    constructor(fields, env) {
      this.env = env;
      this.list = fields.map((field) => buildControl(field, env));
      this.map = new Map(this.list.filter((c) => c.key && !c.isStatic).map((c) => [c.key, c]));
    }

    /** Show or hide each control; `outer` looks up keys this group does not have. Returns changed. */
    refresh(outer) {
      const lookup = (key) => {
        const ctrl = this.map.get(key);
        if (ctrl) return ctrl.visible ? ctrl.value() : null; // hidden: no value
        return outer ? outer(key) : UNKNOWN;
      };
      let changed = false;
      for (const ctrl of this.list) {
        const visible = evaluate(ctrl.field.show_if, lookup);
        if (visible !== ctrl.visible) {
          ctrl.setVisible(visible);
          changed = true;
        }
        if (ctrl.refresh && visible) changed = ctrl.refresh(lookup) || changed;
      }
      return changed;
    }

    value() {
      const out = {};
      for (const ctrl of this.list) {
        if (ctrl.isStatic || !ctrl.key || !ctrl.visible) continue; // hidden fields are not sent
        const value = ctrl.value();
        if (!isEmpty(value)) out[ctrl.key] = value;
      }
      return out;
    }

    setValue(data) {
      for (const ctrl of this.list) {
        if (!ctrl.isStatic && ctrl.key) ctrl.setValue(data ? data[ctrl.key] : undefined);
      }
    }

    validate() {
      let ok = true;
      for (const ctrl of this.list) {
        if (ctrl.visible && !ctrl.isStatic) ok = ctrl.validate() && ok;
      }
      return ok;
    }

    showErrors(parts, messages) {
      const ctrl = this.map.get(parts[0]);
      return ctrl ? ctrl.showErrors(messages, parts.slice(1)) : false;
    }

    clearErrors() {
      for (const ctrl of this.list) ctrl.clearErrors();
    }
  }

  class PersonControl extends Control {
    constructor(field, env) {
      super(field);
      const id = nextId(field.key);
      const s = shell(field, { id, group: true });
      const birth = field.birth || "either";
      const year = new Date().getFullYear();
      const sub = (key, type, label, extra = {}) => ({ key, type, label, required: false, show_if: null, ...extra });
      // The server's person_schema(): a name always, the birth as the form asks.
      const fields = [
        sub("full_name", "text", T.fullName, {
          required: true,
          validation: { min_length: 2, max_length: 100 },
          autocomplete: "name",
        }),
        birth !== "date"
          ? sub("birth_year", "number", T.birthYear, { min: 1900, max: year, required: birth === "year" })
          : null,
        birth !== "year"
          ? sub("birth_date", "date", birth === "either" ? T.birthDateIfKnown : T.birthDate, {
              allow_future: false,
              required: birth === "date",
            })
          : null,
        sub("sex", "choice", T.sex, {
          choices: [
            { value: "male", label: T.male },
            { value: "female", label: T.female },
          ],
        }),
        sub("national_id", "national_id", T.nationalId, {
          required: !!field.require_national_id,
          accept: ["cccd", "cmnd"],
        }),
        sub("phone", "phone", T.phone, { required: !!field.require_phone }),
        sub("home_area", "area", T.homeArea, { depth: 0 }),
        sub("address", "text", T.address, { validation: { max_length: 300 } }),
      ].filter(Boolean);
      this.group = new Group(fields, env);
      s.wrapper.classList.add("fe-person");
      s.wrapper.append(...this.group.list.map((c) => c.wrapper), s.error);
      this.mount(s.wrapper, s.error, () => [], () => this.wrapper.querySelector("input, select"));
    }

    value() {
      const value = this.group.value();
      if (value.birth_date) delete value.birth_year; // one of the two, the more precise
      return Object.keys(value).length ? value : undefined;
    }

    setValue(value) {
      this.group.setValue(value || {});
    }

    validate() {
      // An optional person left empty is fine; once started, its own rules apply.
      if (!this.field.required && this.value() === undefined) {
        this.group.clearErrors();
        this.clearErrors();
        return true;
      }
      super.clearErrors(); // the person's own message; the sub-fields show theirs
      return this.group.validate();
    }

    showErrors(messages, rest) {
      if (rest && rest.length && this.group.showErrors(rest, messages)) return true;
      return super.showErrors(messages);
    }

    clearErrors() {
      super.clearErrors();
      if (this.group) this.group.clearErrors();
    }
  }

  /** Cascading selects: GET areas?parent=<code>, from the form's area down to `depth`. */
  class AreaControl extends Control {
    constructor(field, env) {
      super(field);
      this.env = env;
      this.id = nextId(field.key);
      const s = shell(field, { id: this.id, group: true });
      this.describedBy = s.describedBy;
      this.levels = []; // [{select, wrap}]
      this.pending = undefined; // a value being restored while its lists load
      this.token = 0; // the latest load wins
      this.box = h("div", { class: "fe-levels" });
      this.status = h("p", { class: "fe-status", "aria-live": "polite" });
      s.wrapper.append(this.box, this.status, s.error);
      this.mount(
        s.wrapper,
        s.error,
        () => this.levels.map((l) => l.select),
        () => this.levels.map((l) => l.select).find((sel) => !sel.value) || (this.levels[0] || {}).select,
      );
      this.rootCode = env.areaRoot.code;
      // The form area's level (1 = province) when the document gives it; else go as deep as
      // the tree and let the server judge the depth.
      this.rootLevel = env.areaRoot.depth || env.areaRoot.level || null;
      this.loadLevel(0, this.rootCode);
    }

    maxLevels() {
      const depth = this.field.depth || 0;
      return depth > 0 && this.rootLevel ? Math.max(1, depth - this.rootLevel) : Infinity;
    }

    /** The server wants the lowest level (depth 0) or at least `depth`. */
    deepEnough() {
      const chain = this.chain();
      if (!chain.length || this.pending !== undefined) return true;
      const option = this.levels[chain.length - 1].select.selectedOptions[0];
      const hasChildren = option && option.dataset.children === "1";
      if (!hasChildren) return true;
      if (!this.field.depth) return false;
      return this.rootLevel ? chain.length >= this.maxLevels() : true;
    }

    async loadLevel(index, parentCode, wanted) {
      const token = ++this.token;
      this.truncate(index);
      if (index >= this.maxLevels()) return;
      this.status.textContent = T.loading;
      let areas;
      try {
        areas = await fetchList(withQuery(cfg.areasUrl, { parent: parentCode }));
      } catch (_) {
        loadFailed(this.status, () => this.loadLevel(index, parentCode, wanted));
        return;
      }
      if (token !== this.token) return; // another choice was made meanwhile
      this.status.textContent = "";
      this.truncate(index);
      if (!Array.isArray(areas) || !areas.length) return;
      const selectId = index === 0 ? this.id : `${this.id}-${index}`;
      const levelName = [...new Set(areas.map((a) => a.level_label).filter(Boolean))].join(" / ") || T.nextLevel;
      const select = h(
        "select",
        {
          id: selectId,
          class: "fe-input",
          "aria-describedby": this.describedBy,
          "aria-required": this.field.required && index === 0 ? "true" : null,
        },
        h("option", { value: "" }, T.chooseArea),
        areas.map((a) => h("option", { value: a.code, "data-children": a.has_children ? "1" : "0" }, a.name)),
      );
      const wrap = h("div", { class: "fe-level" }, h("label", { class: "fe-sublabel", for: selectId }, levelName), select);
      select.addEventListener("change", () => {
        this.pending = undefined;
        this.chosen(index);
      });
      this.box.append(wrap);
      this.levels.push({ select, wrap });
      const next = wanted && wanted.length ? wanted[0] : null;
      if (next && areas.some((a) => a.code === next)) {
        select.value = next;
        if (wanted.length === 1) this.pending = undefined; // restored down to the value
        await this.chosen(index, wanted.slice(1));
      } else if (!next && this.pending === undefined && areas.length === 1 && this.field.required) {
        select.value = areas[0].code; // the caller's scope leaves one choice: take it
        await this.chosen(index);
      }
    }

    async chosen(index, wanted) {
      const select = this.levels[index].select;
      const option = select.selectedOptions[0];
      this.truncate(index + 1);
      this.rememberChain();
      if (select.value && option && option.dataset.children === "1") {
        await this.loadLevel(index + 1, select.value, wanted);
      }
    }

    truncate(count) {
      while (this.levels.length > count) this.levels.pop().wrap.remove();
    }

    chain() {
      return this.levels.map((l) => l.select.value).filter(Boolean);
    }

    rememberChain() {
      const chain = this.chain();
      if (chain.length) knownAreaChains.set(chain[chain.length - 1], chain);
    }

    value() {
      if (this.pending !== undefined) return this.pending; // never send a shallower area
      const chain = this.chain();
      return chain.length ? chain[chain.length - 1] : undefined;
    }

    setValue(code) {
      if (isEmpty(code)) {
        this.pending = undefined;
        if (this.levels[0]) {
          this.levels[0].select.value = "";
          this.truncate(1);
        }
        return;
      }
      this.pending = code;
      const chain = knownAreaChains.get(code) || [code];
      this.loadLevel(0, this.rootCode, chain);
    }

    validate() {
      return this.finish(this.value(), this.deepEnough() ? [] : [T.errAreaDepth]);
    }
  }

  /** GET places?kinds=…; with a QR place and role "place", shown locked to the QR's place. */
  class PlaceControl extends Control {
    constructor(field, env) {
      super(field);
      const id = nextId(field.key);
      const s = shell(field, { id });
      this.locked = env.lockPlace && field.role === "place" && qrPlace;
      if (this.locked) {
        this.input = h("input", {
          id,
          class: "fe-input",
          type: "text",
          readonly: true,
          value: qrPlace.name,
          "aria-describedby": s.describedBy,
        });
        s.wrapper.append(this.input, h("p", { class: "fe-help" }, T.qrPlace), s.error);
        this.mount(s.wrapper, s.error, () => [this.input]);
        return;
      }
      this.pending = undefined;
      this.areaCode = env.areaRoot.code;
      this.select = h(
        "select",
        {
          id,
          class: "fe-input",
          "aria-describedby": s.describedBy,
          "aria-required": field.required ? "true" : null,
        },
        h("option", { value: "" }, T.choosePlace),
      );
      this.status = h("p", { class: "fe-status", "aria-live": "polite" });
      s.wrapper.append(this.select, this.status, s.error);
      this.mount(s.wrapper, s.error, () => [this.select]);
      this.load();
    }

    async load() {
      const kinds = this.field.kinds || [];
      const params = kinds.length ? { kinds: kinds.join(",") } : {};
      if (this.areaCode) params.area = this.areaCode; // the server accepts only places in the form's area
      const url = withQuery(cfg.placesUrl, params);
      this.status.textContent = T.loading;
      let places;
      try {
        places = await fetchList(url);
      } catch (_) {
        loadFailed(this.status, () => this.load());
        return;
      }
      this.status.textContent = "";
      const keep = this.select.value || this.pending;
      setChildren(
        this.select,
        h("option", { value: "" }, T.choosePlace),
        (places || []).map((p) => h("option", { value: p.code }, p.name)),
      );
      if (keep) this.select.value = keep;
      if (this.select.value) this.pending = undefined;
    }

    value() {
      if (this.locked) return qrPlace.code;
      return this.select.value || this.pending;
    }

    setValue(code) {
      if (this.locked) return;
      this.pending = isEmpty(code) ? undefined : code;
      this.select.value = this.pending || "";
      if (this.select.value) this.pending = undefined;
    }

    validate() {
      return this.finish(this.value(), []);
    }
  }

  let leafletPromise = null;
  function loadLeaflet() {
    if (window.L) return Promise.resolve(window.L);
    if (!cfg.leafletJs) return Promise.resolve(null);
    if (!leafletPromise) {
      leafletPromise = new Promise((resolve) => {
        if (cfg.leafletCss) document.head.append(h("link", { rel: "stylesheet", href: cfg.leafletCss }));
        const script = h("script", { src: cfg.leafletJs });
        script.onload = () => resolve(window.L || null);
        script.onerror = () => resolve(null); // offline and never cached: no map, buttons still work
        document.head.append(script);
      });
    }
    return leafletPromise;
  }

  /** GPS: navigator.geolocation, a small Leaflet map to adjust, or coordinates typed in. */
  class GeoControl extends Control {
    constructor(field) {
      super(field);
      const id = nextId(field.key);
      const s = shell(field, { id, group: true });
      this.point = undefined;
      this.locateBtn = h("button", { type: "button", id, class: "fe-button", onclick: () => this.locate() }, T.geoLocate);
      this.clearBtn = h(
        "button",
        { type: "button", class: "fe-button fe-button-quiet", hidden: true, onclick: () => this.set(undefined) },
        T.geoClear,
      );
      this.status = h("p", { class: "fe-status", "aria-live": "polite" }, T.geoNone);
      this.mapBox = h("div", { class: "fe-map", hidden: true });
      this.mapHint = h("p", { class: "fe-help", hidden: true }, T.geoMapHint);
      this.latInput = h("input", { id: `${id}-lat`, class: "fe-input", type: "text", inputmode: "decimal" });
      this.lngInput = h("input", { id: `${id}-lng`, class: "fe-input", type: "text", inputmode: "decimal" });
      const manual = h(
        "details",
        { class: "fe-manual" },
        h("summary", {}, T.geoManual),
        h("label", { class: "fe-sublabel", for: `${id}-lat` }, T.lat),
        this.latInput,
        h("label", { class: "fe-sublabel", for: `${id}-lng` }, T.lng),
        this.lngInput,
      );
      for (const input of [this.latInput, this.lngInput]) input.addEventListener("change", () => this.typed());
      s.wrapper.append(
        h("div", { class: "fe-actions" }, this.locateBtn, this.clearBtn),
        this.status,
        this.mapBox,
        this.mapHint,
        manual,
        s.error,
      );
      this.mount(s.wrapper, s.error, () => [this.locateBtn], () => this.locateBtn);
      loadLeaflet();
    }

    locate() {
      if (!navigator.geolocation) {
        this.status.textContent = T.geoUnavailable;
        return;
      }
      this.status.textContent = T.geoLocating;
      navigator.geolocation.getCurrentPosition(
        (pos) => {
          this.set({
            lat: round6(pos.coords.latitude),
            lng: round6(pos.coords.longitude),
            accuracy: Math.round(pos.coords.accuracy),
          });
          this.notifyChange();
        },
        (error) => {
          this.status.textContent =
            error.code === 1 ? T.geoDenied : error.code === 3 ? T.geoTimeout : T.geoUnavailable;
        },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
      );
    }

    typed() {
      const lat = Number(this.latInput.value.trim().replace(",", "."));
      const lng = Number(this.lngInput.value.trim().replace(",", "."));
      if (this.latInput.value.trim() && this.lngInput.value.trim() && validLatLng(lat, lng)) {
        this.set({ lat: round6(lat), lng: round6(lng) });
      }
    }

    set(point, { fromInputs = false } = {}) {
      this.point = point;
      this.clearBtn.hidden = !point;
      this.status.textContent = point ? T.geoValue(point) : T.geoNone;
      if (point && !fromInputs) {
        this.latInput.value = String(point.lat);
        this.lngInput.value = String(point.lng);
      } else if (!point) {
        this.latInput.value = "";
        this.lngInput.value = "";
      }
      this.showMap();
    }

    async showMap() {
      const L = await loadLeaflet();
      if (!L || !this.point) {
        this.mapBox.hidden = true;
        this.mapHint.hidden = true;
        return;
      }
      this.mapBox.hidden = false;
      this.mapHint.hidden = false;
      const at = [this.point.lat, this.point.lng];
      if (!this.map) {
        this.map = L.map(this.mapBox, { attributionControl: !!cfg.tileUrl }).setView(at, 16);
        if (cfg.tileUrl) L.tileLayer(cfg.tileUrl, { maxZoom: 19, attribution: cfg.tileAttribution }).addTo(this.map);
        // A CSS pin: no marker images to fetch, so the map works from the offline cache.
        const icon = L.divIcon({ className: "fe-pin", iconSize: [26, 26], iconAnchor: [13, 26] });
        this.marker = L.marker(at, { draggable: true, icon, title: this.field.label }).addTo(this.map);
        const move = (latlng) => {
          this.set({ lat: round6(latlng.lat), lng: round6(latlng.lng) });
          this.notifyChange();
        };
        this.marker.on("dragend", () => move(this.marker.getLatLng()));
        this.map.on("click", (event) => move(event.latlng));
      } else {
        this.marker.setLatLng(at);
        this.map.setView(at, this.map.getZoom());
      }
      this.map.invalidateSize();
    }

    notifyChange() {
      this.wrapper.dispatchEvent(new Event("change", { bubbles: true }));
    }

    value() {
      if (this.point) return { ...this.point };
      const lat = this.latInput.value.trim();
      const lng = this.lngInput.value.trim();
      return lat || lng ? "invalid" : undefined;
    }

    setValue(value) {
      this.set(value && typeof value === "object" ? value : undefined);
    }

    validate() {
      const value = this.value();
      return this.finish(value, value === "invalid" ? [T.errLatLng] : []);
    }

    setVisible(visible) {
      super.setVisible(visible);
      if (visible && this.map) this.map.invalidateSize();
    }
  }

  function round6(n) {
    return Math.round(n * 1e6) / 1e6;
  }

  function validLatLng(lat, lng) {
    return Number.isFinite(lat) && Number.isFinite(lng) && Math.abs(lat) <= 90 && Math.abs(lng) <= 180;
  }

  /** A photo or file: kept as a Blob in the outbox, uploaded (POST uploads) when the item is sent. */
  class FileControl extends Control {
    constructor(field) {
      super(field);
      const id = nextId(field.key);
      const s = shell(field, { id });
      const accept = (field.accept || []).join(",");
      this.record = undefined;
      this.input = h("input", {
        id,
        type: "file",
        class: "fe-file",
        accept: accept || null,
        capture: (field.accept || []).some((t) => t.startsWith("image/")) ? "environment" : null,
        "aria-describedby": s.describedBy,
        "aria-required": field.required ? "true" : null,
      });
      this.preview = h("img", { class: "fe-preview", alt: "", hidden: true });
      this.info = h("p", { class: "fe-status", "aria-live": "polite" });
      this.removeBtn = h(
        "button",
        { type: "button", class: "fe-button fe-button-quiet", hidden: true, onclick: () => this.clear() },
        T.fileRemove,
      );
      this.input.addEventListener("change", () => {
        const file = this.input.files && this.input.files[0];
        this.show(file ? { __file: true, blob: file, name: file.name, type: file.type, upload: null } : undefined);
      });
      s.wrapper.append(this.input, this.preview, this.info, this.removeBtn, h("p", { class: "fe-help" }, T.fileNote), s.error);
      this.mount(s.wrapper, s.error, () => [this.input]);
    }

    show(record) {
      if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
      this.previewUrl = null;
      this.record = record;
      this.removeBtn.hidden = !record;
      this.info.textContent = record ? T.fileChosen(record.name || "", formatSize(record.blob.size)) : "";
      if (record && (record.type || "").startsWith("image/")) {
        this.previewUrl = URL.createObjectURL(record.blob);
        this.preview.src = this.previewUrl;
        this.preview.hidden = false;
      } else {
        this.preview.hidden = true;
        this.preview.removeAttribute("src");
      }
    }

    clear() {
      this.input.value = "";
      this.show(undefined);
      this.input.focus();
    }

    value() {
      return this.record;
    }

    setValue(value) {
      this.input.value = "";
      this.show(value && value.__file ? value : undefined);
    }

    validate() {
      const errors = [];
      const record = this.record;
      if (record) {
        const max = this.field.max_size_mb || 5;
        if (record.blob.size > max * 1048576) errors.push(T.errFileSize(max));
        const accept = this.field.accept || [];
        if (accept.length && record.type && !accept.includes(record.type)) errors.push(T.errFileType);
      }
      return this.finish(record, errors);
    }
  }

  /** Repeat group: items of sub-fields, added and removed, between min_items and max_items. */
  class RepeatControl extends Control {
    constructor(field, env) {
      super(field);
      this.env = env;
      const id = nextId(field.key);
      const s = shell(field, { id, group: true });
      this.items = [];
      this.itemName = field.item_label || field.label || T.item;
      this.list = h("div", { class: "fe-items" });
      this.addBtn = h(
        "button",
        { type: "button", id, class: "fe-button fe-add", onclick: () => this.add(undefined, true) },
        `+ ${T.add} ${lowerFirst(this.itemName)}`,
      );
      s.wrapper.classList.add("fe-repeat");
      s.wrapper.append(this.list, s.error, this.addBtn);
      this.mount(s.wrapper, s.error, () => [], () => this.addBtn);
      for (let i = 0; i < (field.min_items || 0); i += 1) this.add();
      this.sync();
    }

    add(values, focus) {
      const max = this.field.max_items || 50;
      if (this.items.length >= max) return;
      const group = new Group(this.field.fields || [], { ...this.env, lockPlace: false });
      const legend = h("legend", { class: "fe-item-title" });
      const removeBtn = h("button", { type: "button", class: "fe-button fe-button-quiet fe-remove" }, T.remove);
      const el = h(
        "fieldset",
        { class: "fe-item" },
        legend,
        group.list.map((c) => c.wrapper),
        h("div", { class: "fe-actions" }, removeBtn),
      );
      const item = { group, el, legend, removeBtn };
      removeBtn.addEventListener("click", () => this.remove(item));
      this.items.push(item);
      this.list.append(el);
      if (values) group.setValue(values);
      this.sync();
      this.clearErrors();
      this.changed();
      if (focus) {
        const first = el.querySelector("input, select, textarea");
        if (first) first.focus();
      }
    }

    remove(item) {
      if (this.items.length <= (this.field.min_items || 0)) return;
      this.items = this.items.filter((i) => i !== item);
      item.el.remove();
      this.sync();
      this.clearErrors();
      this.changed();
      this.addBtn.focus();
    }

    sync() {
      const min = this.field.min_items || 0;
      const max = this.field.max_items || 50;
      this.items.forEach((item, i) => {
        item.legend.textContent = `${this.itemName} ${i + 1}`;
        item.removeBtn.textContent = T.remove;
        item.removeBtn.setAttribute("aria-label", `${T.remove} ${lowerFirst(this.itemName)} ${i + 1}`);
        item.removeBtn.hidden = this.items.length <= min;
      });
      this.addBtn.hidden = this.items.length >= max;
    }

    changed() {
      this.wrapper.dispatchEvent(new Event("change", { bubbles: true }));
    }

    refresh(outer) {
      let changed = false;
      for (const item of this.items) changed = item.group.refresh(outer) || changed;
      return changed;
    }

    value() {
      const items = this.items.map((item) => item.group.value());
      return items.length ? items : undefined;
    }

    setValue(list) {
      for (const item of this.items) item.el.remove();
      this.items = [];
      const values = Array.isArray(list) ? list : [];
      for (const value of values) this.add(value);
      for (let i = values.length; i < (this.field.min_items || 0); i += 1) this.add();
      this.sync();
    }

    validate() {
      let ok = true;
      for (const item of this.items) ok = item.group.validate() && ok;
      const f = this.field;
      const count = this.items.length;
      const errors = [];
      const min = Math.max(f.min_items || 0, f.required ? 1 : 0);
      if (count < min) errors.push(f.min_items ? T.errMinItems(min) : T.errRequired);
      if (f.max_items && count > f.max_items) errors.push(T.errMaxItems(f.max_items));
      if (errors.length) this.showErrors(errors);
      else this.clearErrors();
      return ok && !errors.length;
    }

    showErrors(messages, rest) {
      if (rest && rest.length) {
        const item = this.items[Number(rest[0])];
        if (item && rest.length > 1 && item.group.showErrors(rest.slice(1), messages)) return true;
      }
      return super.showErrors(messages);
    }
  }

  function buildControl(field, env) {
    switch (field.type) {
      case "heading":
      case "info":
        return new StaticControl(field);
      case "choice":
      case "multichoice":
      case "boolean":
        return new ChoiceControl(field);
      case "person":
        return new PersonControl(field, env);
      case "area":
        return new AreaControl(field, env);
      case "place":
        return new PlaceControl(field, env);
      case "geopoint":
        return new GeoControl(field);
      case "file":
        return new FileControl(field);
      case "repeat":
        return new RepeatControl(field, env);
      default:
        return new InputControl(field); // text, textarea, number, date, datetime, time, phone, national_id
    }
  }

  // ---------------------------------------------------------------------------------------
  // Outbox items: files travel as Blobs and become {"upload": uuid} just before sending.

  function pathSet(target, parts, value) {
    let node = target;
    for (let i = 0; i < parts.length - 1; i += 1) {
      if (node[parts[i]] === undefined || node[parts[i]] === null) return false;
      node = node[parts[i]];
    }
    node[parts[parts.length - 1]] = value;
    return true;
  }

  /** Split File records out of the data: {data (JSON only), files: {dotted path: record}}. */
  function extractFiles(value, path = [], files = {}) {
    if (value && value.__file) {
      files[path.join(".")] = { blob: value.blob, name: value.name, type: value.type, upload: value.upload || null };
      return { data: undefined, files };
    }
    if (Array.isArray(value)) {
      return { data: value.map((v, i) => extractFiles(v, [...path, i], files).data), files };
    }
    if (value && typeof value === "object") {
      const out = {};
      for (const [k, v] of Object.entries(value)) {
        const inner = extractFiles(v, [...path, k], files).data;
        if (inner !== undefined) out[k] = inner;
      }
      return { data: out, files };
    }
    return { data: value, files };
  }

  function withFiles(data, files, asUploads) {
    const copy = JSON.parse(JSON.stringify(data));
    for (const [path, record] of Object.entries(files || {})) {
      const value = asUploads ? { upload: record.upload } : { __file: true, ...record };
      pathSet(copy, path.split("."), value);
    }
    return copy;
  }

  function areaChainsFor(data) {
    const chains = {};
    const walk = (v) => {
      if (typeof v === "string" && knownAreaChains.has(v)) chains[v] = knownAreaChains.get(v);
      else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(data);
    return chains;
  }

  // ---------------------------------------------------------------------------------------
  // Sending: one item at a time across tabs (Web Locks), idempotent on client_id.

  let localChain = Promise.resolve();
  function withLock(work) {
    const run = () => (navigator.locks ? navigator.locks.request(LOCK_NAME, work) : work());
    const result = localChain.then(run, run);
    localChain = result.catch(() => {});
    return result;
  }

  async function fetchWithTimeout(url, options, timeoutMs) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      return await fetch(url, { ...options, signal: controller.signal });
    } finally {
      clearTimeout(timer);
    }
  }

  function retryAfterMs(response) {
    const header = response.headers.get("Retry-After");
    if (!header) return 60000;
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return Math.max(1, seconds) * 1000;
    const date = Date.parse(header);
    return Number.isFinite(date) ? Math.max(1000, date - Date.now()) : 60000;
  }

  function backoffMs(attempts) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  async function readBody(response) {
    try {
      return await response.json();
    } catch (_) {
      return {};
    }
  }

  function requestHeaders(json) {
    const headers = {
      Accept: "application/json",
      "Accept-Language": document.documentElement.lang || "vi",
      "X-CSRFToken": csrfToken(),
    };
    if (json) headers["Content-Type"] = "application/json";
    return headers;
  }

  /** Upload the item's files that have no upload id yet; null when all are up, else an outcome. */
  async function uploadFiles(item, persist) {
    for (const [path, record] of Object.entries(item.files || {})) {
      if (record.upload) continue;
      const body = new FormData();
      body.append("file", record.blob, record.name || "file");
      let response;
      try {
        response = await fetchWithTimeout(
          cfg.uploadsUrl,
          { method: "POST", body, credentials: "same-origin", headers: requestHeaders(false) },
          UPLOAD_TIMEOUT_MS,
        );
      } catch (_) {
        return { kind: "network" };
      }
      const json = await readBody(response);
      if (response.ok && json.upload) {
        record.upload = json.upload;
        if (persist) {
          await Outbox.update(item.client_id, (stored) => {
            stored.files[path].upload = json.upload;
          });
        }
        continue;
      }
      if (response.status === 400 || response.status === 413) {
        const errors = json.errors
          ? Object.fromEntries(Object.entries(json.errors).map(([, m]) => [path, m]))
          : { [path]: [T.uploadFailed] };
        return { kind: "invalid", errors };
      }
      return classify(response, json, T.uploadFailed);
    }
    return null;
  }

  /** Outcomes that are not about the data: auth, rate limit, server trouble. */
  function classify(response, json, fallbackError) {
    if (response.status === 401 || response.status === 403) return { kind: "auth", status: response.status };
    if (response.status === 429) return { kind: "limited", waitMs: retryAfterMs(response) };
    return { kind: "server", status: response.status, error: (json && json.detail) || fallbackError || "" };
  }

  /** Send one item; update or remove it in the outbox to match the answer (unless not stored). */
  async function deliver(item, persist = true) {
    let outcome = await uploadFiles(item, persist);
    if (!outcome) {
      const body = {
        client_id: item.client_id,
        data: withFiles(item.data, item.files, true),
        client_created_at: item.client_created_at,
        source: item.source,
      };
      if (item.qr) body.qr = item.qr;
      let response = null;
      try {
        response = await fetchWithTimeout(
          item.submit_url,
          { method: "POST", credentials: "same-origin", headers: requestHeaders(true), body: JSON.stringify(body) },
          SUBMIT_TIMEOUT_MS,
        );
      } catch (_) {
        outcome = { kind: "network" };
      }
      if (response) {
        const json = await readBody(response);
        if (response.status === 200 || response.status === 201) outcome = { kind: "sent", body: json };
        else if (response.status === 400 || response.status === 413 || response.status === 422) {
          outcome = { kind: "invalid", errors: json.errors || { "": [].concat(json.detail || T.summaryServer) } };
        } else if (response.status === 409) outcome = { kind: "conflict" };
        else outcome = classify(response, json);
      }
    }
    if (persist) await record(item, outcome);
    return outcome;
  }

  async function record(item, outcome) {
    const id = item.client_id;
    if (outcome.kind === "sent" && (outcome.body || {}).status === "in_review") {
      // Kept (without its data) until the approvers decide: a rejection and its reason show here.
      await Outbox.update(id, (stored) => {
        stored.status = "in_review";
        stored.server_id = outcome.body.id;
        stored.data = null;
        stored.files = null;
      });
      return;
    }
    if (outcome.kind === "sent") {
      await Outbox.remove(id);
      return;
    }
    await Outbox.update(id, (stored) => {
      stored.attempts = (stored.attempts || 0) + 1;
      stored.auth_needed = outcome.kind === "auth";
      if (outcome.kind === "invalid") {
        stored.status = "needs_fix";
        stored.errors = outcome.errors;
      } else if (outcome.kind === "conflict") {
        stored.status = "conflict";
      } else if (outcome.kind === "limited") {
        stored.not_before = Date.now() + outcome.waitMs;
        stored.retry_at = stored.not_before;
      } else {
        // network, server, auth: try again later, further apart each time
        if (outcome.kind === "network") stored.source = "offline"; // it waited for the network
        stored.retry_at = Date.now() + backoffMs(stored.attempts);
        stored.last_error = outcome.kind === "server" ? `HTTP ${outcome.status}` : outcome.kind;
      }
    });
  }

  /** Send one item now (the one just submitted). */
  function sendNow(clientId) {
    return withLock(async () => {
      const item = await Outbox.get(clientId);
      if (!item || item.status !== "pending") return { kind: "gone" };
      return deliver(item);
    }).finally(afterOutboxChange);
  }

  let flushing = false;
  let flushAgain = false;
  let flushTimer = null;

  /** Send every pending item that is due (all of them with ignoreBackoff, except 429 waits). */
  async function flush({ ignoreBackoff = false } = {}) {
    if (navigator.onLine === false) return; // the `online` event calls again
    if (flushing) {
      flushAgain = true;
      return;
    }
    flushing = true;
    let delivered = 0;
    try {
      await withLock(async () => {
        const items = await Outbox.all();
        for (const listed of items) {
          const item = await Outbox.get(listed.client_id); // another tab may have sent it
          if (!item || item.status !== "pending") continue;
          const now = Date.now();
          if ((item.not_before || 0) > now) continue;
          if (!ignoreBackoff && (item.retry_at || 0) > now) continue;
          const outcome = await deliver(item);
          if (outcome.kind === "sent") delivered += 1;
          if (outcome.kind === "network") break; // no network: the others would fail the same way
        }
      });
    } catch (_) {
      /* IndexedDB unavailable: nothing stored, nothing to send */
    } finally {
      flushing = false;
      if (delivered) notice(T.deliveredLater(delivered));
      await afterOutboxChange();
      if (flushAgain) {
        flushAgain = false;
        flush({ ignoreBackoff });
      }
    }
  }

  function scheduleFlush(items) {
    clearTimeout(flushTimer);
    const due = items
      .filter((i) => i.status === "pending")
      .map((i) => Math.max(i.retry_at || 0, i.not_before || 0));
    if (!due.length) return;
    const wait = Math.min(Math.max(1000, Math.min(...due) - Date.now()), 2 ** 31 - 1);
    flushTimer = setTimeout(() => flush(), wait);
  }

  // ---------------------------------------------------------------------------------------
  // The outbox panel: "Đang chờ gửi: N", and the items that need the person.

  const channel = "BroadcastChannel" in window ? new BroadcastChannel(LOCK_NAME) : null;
  const outboxEl = h("section", { id: "outbox", class: "fe-outbox", hidden: true, "aria-live": "polite" });
  const countEl = h("p", { id: "outbox-count", class: "fe-outbox-count" });
  const sendNowBtn = h(
    "button",
    { type: "button", class: "fe-button fe-button-quiet", onclick: () => flush({ ignoreBackoff: true }) },
    T.sendNow,
  );
  const listEl = h("ul", { id: "outbox-list", class: "fe-outbox-list" });
  const noticeEl = h("p", { id: "outbox-notice", class: "fe-notice", role: "status" });
  outboxEl.append(h("div", { class: "fe-outbox-head" }, countEl, sendNowBtn), listEl);

  function notice(text) {
    noticeEl.textContent = text;
    noticeEl.hidden = !text;
  }

  async function afterOutboxChange() {
    let items = [];
    try {
      items = await Outbox.all();
    } catch (_) {
      items = [];
    }
    renderOutbox(items);
    scheduleFlush(items);
    if (channel) channel.postMessage("changed");
  }

  function formatTime(ms) {
    const d = new Date(ms);
    return `${pad(d.getDate())}/${pad(d.getMonth() + 1)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function renderOutbox(items) {
    const pending = items.filter((i) => i.status === "pending");
    countEl.textContent = T.pending(pending.length);
    app.dataset.pending = String(pending.length);
    sendNowBtn.hidden = !pending.length;
    setChildren(listEl, items.map(outboxRow));
    outboxEl.hidden = !items.length;
  }

  function outboxRow(item) {
    const state =
      item.status === "needs_fix"
        ? T.stateNeedsFix
        : item.status === "conflict"
          ? T.stateConflict
          : item.status === "in_review"
            ? T.stateInReview
            : item.status === "rejected"
              ? T.stateRejected(item.reason)
              : item.auth_needed
                ? T.stateAuth
                : T.statePending + (item.attempts ? ` (${T.stateAttempts(item.attempts)})` : "");
    const row = h(
      "li",
      { "data-client-id": item.client_id, "data-status": item.status },
      h("span", { class: "fe-outbox-title" }, item.form_title || item.form_slug),
      " · ",
      h("span", {}, formatTime(item.created_at)),
      " · ",
      h("strong", {}, state),
    );
    const actions = h("span", { class: "fe-outbox-actions" });
    if (item.status === "needs_fix") {
      actions.append(h("button", { type: "button", class: "fe-link", onclick: () => openFix(item.client_id) }, T.fix));
    }
    if (item.status === "conflict") {
      actions.append(
        h("button", { type: "button", class: "fe-link", onclick: () => resendAsNew(item.client_id) }, T.sendAsNew),
      );
    }
    if (item.auth_needed && item.status === "pending") {
      actions.append(h("a", { class: "fe-link", href: cfg.loginUrl }, T.login));
    }
    if (item.status !== "pending" && item.status !== "in_review") {
      actions.append(
        h("button", { type: "button", class: "fe-link", onclick: () => discard(item.client_id) }, T.remove),
      );
    }
    if (actions.childNodes.length) row.append(" ", actions);
    return row;
  }

  /** Ask after the submissions waiting for review: accepted ones leave, rejected ones say why. */
  async function refreshDecisions() {
    let waiting = [];
    try {
      waiting = (await Outbox.all()).filter((i) => i.status === "in_review");
    } catch (_) {
      return;
    }
    if (!waiting.length || !navigator.onLine) return;
    const query = waiting.map((i) => `client_id=${encodeURIComponent(i.client_id)}`).join("&");
    let decisions = [];
    try {
      const response = await fetchWithTimeout(
        `${cfg.decisionsUrl}?${query}`,
        { credentials: "same-origin", headers: requestHeaders(false) },
        SUBMIT_TIMEOUT_MS,
      );
      if (!response.ok) return;
      decisions = await response.json();
    } catch (_) {
      return;
    }
    for (const decision of decisions) {
      if (decision.status === "accepted") await Outbox.remove(decision.client_id);
      else if (decision.status === "rejected") {
        await Outbox.update(decision.client_id, (stored) => {
          stored.status = "rejected";
          stored.reason = decision.reason;
        });
      }
    }
    await afterOutboxChange();
  }

  async function discard(clientId) {
    if (!window.confirm(T.deleteConfirm)) return;
    await Outbox.remove(clientId);
    if (fixing && fixing.client_id === clientId) fixing = null;
    await afterOutboxChange();
  }

  async function resendAsNew(clientId) {
    const item = await Outbox.get(clientId);
    if (!item) return;
    await Outbox.remove(clientId);
    const copy = {
      ...item,
      client_id: uuid(),
      status: "pending",
      attempts: 0,
      retry_at: 0,
      not_before: 0,
      errors: null,
    };
    await Outbox.put(copy);
    await sendNow(copy.client_id);
  }

  function openFix(clientId) {
    Outbox.get(clientId).then((item) => {
      if (!item) return;
      if (form && doc && item.form_slug === doc.slug) loadForFix(item);
      else window.location.href = `${item.form_url}#fix=${encodeURIComponent(clientId)}`;
    });
  }

  // ---------------------------------------------------------------------------------------
  // The form

  let form = null;
  let top = null;
  let fixing = null; // the outbox item being corrected (keeps its client_id)
  let busy = false;
  const summaryEl = h("div", { id: "form-summary", class: "fe-summary", role: "alert", tabindex: "-1", hidden: true });
  const resultEl = h("section", { id: "form-result", class: "fe-result", hidden: true, "aria-live": "polite" });

  function env() {
    return {
      areaRoot: (doc && doc.area) || { code: "" },
      lockPlace: !!qrPlace,
    };
  }

  function renderForm() {
    const mount = document.getElementById("fe-form");
    if (!mount || !doc) return;
    form = mount;
    top = new Group(doc.fields || [], env());
    const submit = h("button", { type: "submit", class: "fe-button fe-button-primary", id: "fe-submit" }, T.submit);
    setChildren(
      form,
      h("p", { class: "fe-help fe-required-note" }, T.requiredNote),
      summaryEl,
      top.list.map((c) => c.wrapper),
      h("div", { class: "fe-submit" }, submit),
    );
    form.hidden = false;
    refreshVisibility();
  }

  function refreshVisibility() {
    for (let pass = 0; pass < 5; pass += 1) if (!top.refresh(null)) break; // settles chains of conditions
  }

  function showSummary(text, extra) {
    setChildren(summaryEl, h("p", {}, text), extra && extra.length ? h("ul", {}, extra.map((m) => h("li", {}, m))) : null);
    summaryEl.hidden = false;
  }

  function hideSummary() {
    summaryEl.hidden = true;
    summaryEl.replaceChildren();
  }

  function visibleErrors() {
    return Array.from(form.querySelectorAll(".fe-error:not([hidden])")).filter((el) => el.offsetParent !== null);
  }

  function focusFirstError() {
    const first = visibleErrors()[0];
    const target = first && first.fe_focus ? first.fe_focus() : null;
    const el = target || (summaryEl.hidden ? null : summaryEl);
    if (!el) return;
    el.focus();
    el.scrollIntoView({ block: "center" });
  }

  function applyServerErrors(errors) {
    const unplaced = [];
    for (const [key, raw] of Object.entries(errors || {})) {
      const messages = (Array.isArray(raw) ? raw : [raw]).map(String);
      if (!key || !top.showErrors(key.split("."), messages)) unplaced.push(...messages);
    }
    showSummary(T.summaryServer, unplaced);
  }

  function setBusy(on) {
    busy = on;
    const submit = document.getElementById("fe-submit");
    if (submit) {
      submit.disabled = on;
      submit.textContent = on ? T.sending : T.submit;
    }
  }

  async function onSubmit(event) {
    event.preventDefault();
    if (busy) return;
    hideSummary();
    refreshVisibility();
    if (!top.validate()) {
      showSummary(T.summary(visibleErrors().length));
      focusFirstError();
      return;
    }
    const { data, files } = extractFiles(top.value());
    const item = {
      client_id: fixing ? fixing.client_id : uuid(),
      form_slug: doc.slug,
      form_title: doc.title,
      form_url: window.location.pathname + window.location.search,
      submit_url: doc.submit_url,
      version: doc.version,
      data: data || {},
      files,
      area_chains: areaChainsFor(data),
      client_created_at: fixing ? fixing.client_created_at : new Date().toISOString(),
      qr: qrPlace ? qrPlace.code : null,
      source: navigator.onLine === false ? "offline" : "web",
      status: "pending",
      attempts: 0,
      retry_at: 0,
      not_before: 0,
      errors: null,
      created_at: fixing ? fixing.created_at : Date.now(),
    };
    setBusy(true);
    let outcome;
    try {
      await Outbox.put(item);
      outcome = await sendNow(item.client_id);
    } catch (_) {
      // No IndexedDB (private browsing, storage full): send without the safety net.
      notice(T.storageFailed);
      outcome = await deliver(item, false);
    } finally {
      setBusy(false);
    }
    showOutcome(outcome, item);
  }

  function showResult(title, text, extra) {
    const heading = h("h2", { tabindex: "-1" }, title);
    setChildren(
      resultEl,
      heading,
      h("p", {}, text),
      extra || null,
      h("button", { type: "button", class: "fe-button fe-button-primary", onclick: newForm }, T.newForm),
    );
    resultEl.hidden = false;
    form.hidden = true;
    heading.focus();
  }

  function showOutcome(outcome, item) {
    const kind = outcome.kind;
    if (kind === "invalid") {
      fixing = { ...item, status: "needs_fix", errors: outcome.errors };
      top.clearErrors();
      applyServerErrors(outcome.errors);
      focusFirstError();
      return;
    }
    if (kind === "conflict") {
      showResult(T.conflictTitle, T.conflictText);
    } else if (kind === "sent" || kind === "gone") {
      const status = outcome.body && outcome.body.status;
      showResult(
        T.sentTitle,
        cfg.thankYou || T.sentDefault,
        status === "in_review" ? h("p", {}, T.inReview) : null,
      );
    } else if (kind === "auth") {
      showResult(T.authTitle, T.authText, h("p", {}, h("a", { class: "fe-link", href: cfg.loginUrl }, T.login)));
    } else if (kind === "limited") {
      showResult(T.queuedTitle, T.queuedLimited(Math.ceil(outcome.waitMs / 1000)));
    } else {
      showResult(T.queuedTitle, kind === "network" ? T.queuedOffline : T.queuedServer);
    }
    fixing = null;
  }

  function newForm() {
    resultEl.hidden = true;
    fixing = null;
    hideSummary();
    renderForm();
    const first = form.querySelector("input, select, textarea, button");
    if (first) first.focus();
  }

  function loadForFix(item) {
    resultEl.hidden = true;
    renderForm();
    for (const [code, chain] of Object.entries(item.area_chains || {})) knownAreaChains.set(code, chain);
    top.setValue(withFiles(item.data, item.files, false));
    refreshVisibility();
    fixing = item;
    applyServerErrors(item.errors);
    summaryEl.firstChild.textContent = T.fixBanner;
    focusFirstError();
  }

  /** Enter in a one-line input moves to the next field instead of sending half a form. */
  function onKeydown(event) {
    const target = event.target;
    if (event.key !== "Enter" || target.tagName !== "INPUT" || ["submit", "button", "file"].includes(target.type)) {
      return;
    }
    event.preventDefault();
    const fields = Array.from(form.querySelectorAll("input, select, textarea, button")).filter(
      (el) => !el.disabled && el.offsetParent !== null && !(el.type === "radio" && !el.checked && el !== target),
    );
    const next = fields[fields.indexOf(target) + 1];
    if (next) next.focus();
  }

  function onChange(event) {
    const wrapper = event.target.closest && event.target.closest(".fe-field");
    const ctrl = wrapper && controlOf.get(wrapper);
    if (ctrl && !(ctrl instanceof RepeatControl)) ctrl.clearErrors();
    refreshVisibility();
  }

  // ---------------------------------------------------------------------------------------
  // Offline: the service worker keeps this page, its static files and its schema.

  function pageUrl() {
    return window.location.href.split("#")[0];
  }

  function urlsToCache() {
    const urls = new Set([pageUrl()]);
    if (doc && doc.submit_url) urls.add(doc.submit_url.replace(/\/submissions\/?$/, ""));
    for (const el of document.querySelectorAll("script[src], link[rel=stylesheet][href]")) {
      urls.add(el.src || el.href);
    }
    for (const entry of performance.getEntriesByType("resource")) {
      const url = new URL(entry.name);
      if (url.origin === window.location.origin && !url.pathname.startsWith("/api/v1/uploads")) {
        if (entry.initiatorType !== "fetch" && entry.initiatorType !== "xmlhttprequest") urls.add(entry.name);
        else if (url.pathname.startsWith(cfg.areasUrl) || url.pathname.startsWith(cfg.placesUrl)) urls.add(entry.name);
      }
    }
    return Array.from(urls).filter((u) => u.startsWith(window.location.origin));
  }

  async function setUpOffline() {
    if (!("serviceWorker" in navigator) || !cfg.swUrl) return;
    try {
      await navigator.serviceWorker.register(cfg.swUrl, { scope: "/" });
      const registration = await navigator.serviceWorker.ready;
      if (leafletPromise) await leafletPromise;
      const worker = registration.active;
      if (!worker) return;
      const reply = await new Promise((resolve) => {
        const port = new MessageChannel();
        port.port1.onmessage = (event) => resolve(event.data || {});
        const controlled = !!navigator.serviceWorker.controller; // then its copy was just refreshed
        worker.postMessage({ type: "cache-urls", page: pageUrl(), urls: urlsToCache(), controlled }, [
          port.port2,
        ]);
        setTimeout(() => resolve({}), 60000);
      });
      if (reply.page) {
        document.documentElement.dataset.offlineReady = "true";
        const ready = document.getElementById("offline-ready");
        if (ready) {
          ready.textContent = T.offlineReady;
          ready.hidden = false;
        }
      }
    } catch (_) {
      /* no service worker (private mode, insecure origin): the outbox still works online */
    }
  }

  // ---------------------------------------------------------------------------------------
  // Start

  function start() {
    const outboxMount = document.getElementById("outbox-mount");
    if (outboxMount) outboxMount.replaceWith(outboxEl, noticeEl);
    else app.prepend(outboxEl, noticeEl);
    notice("");
    if (qrPlace && qrPlace.name) {
      const banner = document.getElementById("qr-banner");
      if (banner) {
        banner.textContent = T.qrBanner(qrPlace.name);
        banner.hidden = false;
      }
    }
    const mount = document.getElementById("fe-form");
    if (mount && doc) {
      mount.after(resultEl);
      renderForm();
      if (initial && initial.values) {
        for (const [code, chain] of Object.entries(initial.area_chains || {})) knownAreaChains.set(code, chain);
        top.setValue(initial.values);
        refreshVisibility();
      }
      mount.addEventListener("submit", onSubmit);
      mount.addEventListener("input", onChange);
      mount.addEventListener("change", onChange);
      mount.addEventListener("keydown", onKeydown);
      const fixId = (window.location.hash.match(/^#fix=(.+)$/) || [])[1];
      if (fixId) {
        Outbox.get(decodeURIComponent(fixId)).then((item) => {
          if (item && item.form_slug === doc.slug && item.status === "needs_fix") loadForFix(item);
        });
      }
    }
    app.dataset.ready = "true";
    window.addEventListener("online", () => {
      flush({ ignoreBackoff: true });
      refreshDecisions();
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") {
        flush();
        refreshDecisions();
      }
    });
    window.setInterval(refreshDecisions, DECISIONS_POLL_MS);
    if (channel) channel.onmessage = () => Outbox.all().then(renderOutbox).catch(() => {});
    afterOutboxChange().then(() => flush({ ignoreBackoff: true })).then(refreshDecisions);
    setUpOffline();
  }

  start();
})();
