// The data-entry screen (forms_engine/entry.py): one form's paper records typed in sequence.
// Every field on one screen from the schema document the API serves; Enter moves to the next
// field and on the last one saves through POST /api/v1/forms/{slug}/submissions (session +
// CSRF), then the form clears and the cursor returns to the first field. The rules the phone
// page checks are checked here as you type; the server's answer has the last word.
(function () {
  "use strict";

  const schema = JSON.parse(document.getElementById("entry-schema").textContent);
  const config = JSON.parse(document.getElementById("entry-config").textContent);
  const T = config.text;
  const formEl = document.getElementById("entry-form");
  const statusEl = document.getElementById("entry-status");
  const counterEl = document.getElementById("entry-counter");
  const COUNTER_KEY = `entry-count:${schema.slug}`;
  const PHONE_VN_RE = /^(?:\+?84|0)(?:[35789]\d{8}|2\d{9})$/;
  const PHONE_INTL_RE = /^\+(?!84)[1-9]\d{6,14}$/;
  const TEXT_MAX = { text: 500, textarea: 5000 };

  // --- small helpers -----------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value == null) continue;
      if (name === "class") el.className = value;
      else if (name === "text") el.textContent = value;
      else el.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) if (child != null) el.append(child);
    return el;
  }

  function fmt(text, n) {
    return text.replace("%(n)s", n);
  }

  function fold(text) {
    return String(text || "")
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/[đĐ]/g, "d")
      .toLowerCase()
      .trim();
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const x = Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function today() {
    const d = new Date();
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  // --- reading what was typed: {value, errors}; value undefined when empty or invalid -----

  function readDate(text) {
    let m = text.match(/^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$/) || text.match(/^(\d{2})(\d{2})(\d{4})$/);
    let y, mo, d;
    if (m) [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
    else if ((m = text.match(/^(\d{4})-(\d{2})-(\d{2})$/))) [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    else return null;
    const date = new Date(y, mo - 1, d);
    if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return null;
    return `${y}-${pad(mo)}-${pad(d)}`;
  }

  function readTime(text) {
    const m = text.match(/^(\d{1,2})[:hH.]?(\d{2})$/);
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return null;
    return `${pad(m[1])}:${m[2]}`;
  }

  function textErrors(field, text) {
    const rules = field.validation || {};
    const length = Array.from(text).length;
    const cap = TEXT_MAX[field.type] || TEXT_MAX.text;
    const maximum = Math.min(rules.max_length || cap, cap);
    const errors = [];
    if (rules.min_length && length < rules.min_length) errors.push(fmt(T.minLength, rules.min_length));
    if (length > maximum) errors.push(fmt(T.maxLength, maximum));
    if (rules.pattern) {
      let regex = null;
      try {
        regex = new RegExp(`^(?:${rules.pattern})$`);
      } catch (_) {
        regex = null; // a Python-only pattern: the server decides
      }
      if (regex && !regex.test(text)) errors.push(rules.pattern_message || T.pattern);
    }
    return errors;
  }

  function readNumber(field, text) {
    const normal = text.replace(/\s/g, "").replace(",", ".");
    if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(normal)) return { errors: [T.number] };
    const value = Number(normal);
    const errors = [];
    if (!field.decimal && !Number.isInteger(value)) errors.push(T.integer);
    if (field.min != null && value < field.min) errors.push(fmt(T.min, field.min));
    if (field.max != null && value > field.max) errors.push(fmt(T.max, field.max));
    return { value, errors };
  }

  function readScalar(field, raw) {
    const text = (raw || "").trim();
    if (!text) return { errors: [] };
    switch (field.type) {
      case "number":
        return readNumber(field, text);
      case "date": {
        const value = readDate(text);
        if (!value) return { errors: [T.date] };
        return { value, errors: field.allow_future === false && value > today() ? [T.future] : [] };
      }
      case "datetime": {
        const [day, clock] = text.split(/[ T]+/);
        const date = readDate(day || "");
        const time = readTime(clock || "");
        return date && time ? { value: `${date}T${time}`, errors: [] } : { errors: [T.datetime] };
      }
      case "time": {
        const value = readTime(text);
        return value ? { value, errors: [] } : { errors: [T.time] };
      }
      case "phone": {
        const phone = text.replace(/[\s.\-()]/g, "");
        return PHONE_VN_RE.test(phone) || PHONE_INTL_RE.test(phone) ? { value: phone, errors: [] } : { errors: [T.phone] };
      }
      case "national_id": {
        const digits = text.replace(/[\s.\-]/g, "");
        const accept = field.accept && field.accept.length ? field.accept : ["cccd", "cmnd"];
        const ok = /^\d+$/.test(digits) && ((accept.includes("cccd") && digits.length === 12) || (accept.includes("cmnd") && digits.length === 9));
        return ok ? { value: digits, errors: [] } : { errors: [T.nationalId] };
      }
      default:
        return { value: text, errors: textErrors(field, text) };
    }
  }

  /** An area or place typed by code, by name (accents optional) or picked from suggestions. */
  function readListed(options, raw) {
    const text = (raw || "").trim();
    if (!text) return { errors: [] };
    const code = (text.match(/\(([^()]+)\)\s*$/) || [])[1] || text;
    const byCode = options.find((o) => o.code.toLowerCase() === code.toLowerCase());
    if (byCode) return { value: byCode.code, errors: [] };
    const folded = fold(text);
    const exact = options.filter((o) => fold(o.name) === folded);
    const near = exact.length ? exact : options.filter((o) => fold(o.name).includes(folded));
    return near.length === 1 ? { value: near[0].code, errors: [] } : { errors: [T.notListed] };
  }

  // --- controls: one per field; stops are the inputs Enter walks through ------------------

  const listIds = {};

  function datalist(options) {
    const key = options.map((o) => o.code).join(",");
    if (!listIds[key]) {
      listIds[key] = `entry-list-${Object.keys(listIds).length}`;
      const list = h("datalist", { id: listIds[key] });
      for (const o of options) list.append(h("option", { value: `${o.name} (${o.code})` }));
      document.body.append(list);
    }
    return listIds[key];
  }

  function textInput(id, field, extra) {
    const numeric = ["number", "phone", "national_id"].includes(field.type);
    const tag = field.type === "textarea" ? "textarea" : "input";
    return h(tag, { id, class: "fe-input", type: tag === "input" ? "text" : null, inputmode: numeric ? "tel" : null, ...extra });
  }

  function choiceSelect(id, choices, required) {
    const select = h("select", { id, class: "fe-input" }, h("option", { value: "", text: T.choose }));
    choices.forEach((c, i) => select.append(h("option", { value: c.value, text: `${i + 1}. ${c.label}` })));
    select.dataset.required = required ? "1" : "";
    return select;
  }

  let counter = 0;

  /** One input: {input, read()} where read() gives {value, errors} without the required rule. */
  function scalar(field, label, required) {
    const id = `entry-${++counter}`;
    let input;
    let read;
    if (field.type === "choice" || field.type === "boolean") {
      const choices = field.type === "boolean" ? [{ value: "true", label: T.yes }, { value: "false", label: T.no }] : field.choices || [];
      input = choiceSelect(id, choices, required);
      read = () => {
        if (!input.value) return { errors: [] };
        if (field.type === "boolean") return { value: input.value === "true", errors: [] };
        const choice = choices.find((c) => String(c.value) === input.value);
        return { value: choice ? choice.value : input.value, errors: [] };
      };
    } else if (field.type === "area" || field.type === "place") {
      const kinds = field.kinds || [];
      const options = field.type === "area" ? config.areas : config.places.filter((p) => !kinds.length || kinds.includes(p.kind));
      input = textInput(id, field, { list: datalist(options) });
      read = () => readListed(options, input.value);
    } else {
      input = textInput(id, field, {});
      read = () => readScalar(field, input.value);
    }
    const wrapper = h("div", { class: "entry-part" }, h("label", { class: "fe-sublabel", for: id, text: label + (required ? " *" : "") }), input);
    return { wrapper, input, read, required, label };
  }

  function fieldShell(field) {
    return h("fieldset", { class: "fe-field entry-field", "data-key": field.key }, h("legend", { class: "fe-label", text: field.label + (field.required ? " *" : "") }));
  }

  function personParts(field) {
    const birth = field.birth || "either";
    const parts = [
      ["full_name", { type: "text", validation: { min_length: 2, max_length: 100 } }, T.fullName, true],
      ["birth_year", { type: "number", min: 1900, max: new Date().getFullYear() }, T.birthYear, birth === "year"],
      ["birth_date", { type: "date", allow_future: false }, T.birthDate, birth === "date"],
      ["sex", { type: "choice", choices: [{ value: "male", label: T.male }, { value: "female", label: T.female }] }, T.sex, false],
      ["national_id", { type: "national_id" }, T.nationalIdLabel, !!field.require_national_id],
      ["phone", { type: "phone" }, T.phoneLabel, !!field.require_phone],
      ["home_area", { type: "area" }, T.homeArea, false],
      ["address", { type: "text", validation: { max_length: 300 } }, T.address, false],
    ];
    return parts.filter(([key]) => (key === "birth_year" ? birth !== "date" : key === "birth_date" ? birth !== "year" : true));
  }

  function buildControl(field) {
    const wrapper = fieldShell(field);
    const error = h("p", { class: "fe-error", hidden: true, id: `entry-error-${field.key}` });
    const control = { field, wrapper, error, parts: {} };
    if (config.unsupported.includes(field.type)) {
      wrapper.append(h("p", { class: "fe-help", text: T.unsupported }));
      control.stops = [];
      control.value = () => undefined;
    } else if (field.type === "person") {
      for (const [key, sub, label, required] of personParts(field)) {
        const part = scalar(sub, label, required);
        part.error = h("p", { class: "fe-error", hidden: true });
        part.wrapper.append(part.error);
        wrapper.append(part.wrapper);
        control.parts[key] = part;
      }
      wrapper.append(h("p", { class: "entry-dup", role: "status", hidden: true }));
      control.stops = Object.values(control.parts).map((p) => p.input);
    } else if (field.type === "multichoice") {
      const boxes = (field.choices || []).map((c, i) => {
        const box = h("input", { type: "checkbox", value: c.value, id: `entry-${++counter}` });
        wrapper.append(h("label", { class: "fe-option", for: box.id }, box, h("span", { text: ` ${i + 1}. ${c.label}` })));
        return box;
      });
      control.boxes = boxes;
      control.stops = boxes.slice(0, 1);
    } else {
      const part = scalar(field, field.label, !!field.required);
      part.wrapper.querySelector("label").classList.add("visually-hidden");
      wrapper.append(part.wrapper);
      control.parts[""] = part;
      control.stops = [part.input];
    }
    if (field.help_text) wrapper.append(h("p", { class: "fe-help", text: field.help_text }));
    wrapper.append(error);
    return control;
  }

  // --- values, rules and errors ------------------------------------------------------------

  /** {value, errors: {subkey or "": [messages]}} of a control, required rules included. */
  function check(control, { requiredToo }) {
    const field = control.field;
    const errors = {};
    if (control.boxes) {
      const value = control.boxes.filter((b) => b.checked).map((b) => b.value);
      const found = [];
      if (requiredToo && field.required && !value.length) found.push(T.required);
      if (field.min_selected && value.length && value.length < field.min_selected) found.push(fmt(T.minSelected, field.min_selected));
      if (field.max_selected && value.length > field.max_selected) found.push(fmt(T.maxSelected, field.max_selected));
      if (found.length) errors[""] = found;
      return { value: value.length ? value : undefined, errors };
    }
    const value = {};
    for (const [key, part] of Object.entries(control.parts)) {
      const read = part.read();
      const empty = !part.input.value.trim();
      if (read.errors.length) errors[key] = read.errors;
      else if (requiredToo && part.required && empty) errors[key] = [T.required];
      if (read.value !== undefined) value[key] = read.value;
    }
    if (!Object.keys(control.parts).length) return { value: undefined, errors };
    if ("" in control.parts) return { value: value[""], errors };
    if (requiredToo && field.required && !Object.keys(value).length && !errors.full_name) errors.full_name = [T.required];
    return { value: Object.keys(value).length ? value : undefined, errors };
  }

  function showErrors(control, errors) {
    const own = [...(errors[""] || [])];
    for (const [key, part] of Object.entries(control.parts)) {
      const messages = errors[key] || [];
      part.input.setAttribute("aria-invalid", messages.length ? "true" : "false");
      if (part.error) {
        part.error.textContent = messages.join(" ");
        part.error.hidden = !messages.length;
      } else own.push(...messages);
    }
    control.error.textContent = own.join(" ");
    control.error.hidden = !own.length;
  }

  function valid(control, requiredToo) {
    const { errors } = check(control, { requiredToo });
    showErrors(control, errors);
    return !Object.keys(errors).length;
  }

  // --- conditions (show_if), as the phone page and the server read them --------------------

  function same(a, b) {
    if (typeof a === "boolean" || typeof b === "boolean") return a === b;
    return String(a) === String(b);
  }

  function compare(actual, op, expected) {
    const empty = actual === undefined || actual === "" || (Array.isArray(actual) && !actual.length);
    if (op === "set") return !empty;
    if (empty) return op === "ne" && expected != null && expected !== "";
    const list = Array.isArray(actual) ? actual : [actual];
    if (op === "eq") return list.some((a) => same(a, expected));
    if (op === "ne") return !list.some((a) => same(a, expected));
    if (op === "in") return list.some((a) => (expected || []).some((e) => same(a, e)));
    if (op === "gt") return Number(actual) > Number(expected);
    if (op === "lt") return Number(actual) < Number(expected);
    return false;
  }

  function shown(control, values) {
    const showIf = control.field.show_if;
    if (!showIf) return true;
    const [mode, conditions] = Object.entries(showIf)[0] || ["all", []];
    const outcomes = (conditions || []).map((c) => c.field in values && compare(values[c.field], c.op, c.value));
    return mode === "all" ? outcomes.every(Boolean) : outcomes.some(Boolean);
  }

  // --- the screen ----------------------------------------------------------------------------

  const controls = [];
  let clientId = uuid();
  let saving = false;

  function currentValues() {
    const values = {};
    for (const control of controls) {
      if (control.wrapper.hidden) continue;
      const { value } = check(control, { requiredToo: false });
      if (value !== undefined) values[control.field.key] = value;
    }
    return values;
  }

  function refreshVisibility() {
    const values = {};
    for (const control of controls) {
      control.wrapper.hidden = !shown(control, values);
      if (control.wrapper.hidden) continue;
      const { value } = check(control, { requiredToo: false });
      if (value !== undefined) values[control.field.key] = value;
    }
  }

  function stops() {
    return controls.filter((c) => !c.wrapper.hidden).flatMap((c) => c.stops);
  }

  function controlOf(element) {
    return controls.find((c) => c.wrapper.contains(element));
  }

  function partValid(control, element) {
    const { errors } = check(control, { requiredToo: true });
    const key = Object.keys(control.parts).find((k) => control.parts[k].input === element);
    const mine = control.boxes ? errors[""] : errors[key === undefined ? "" : key];
    showErrors(control, errors);
    return !(mine && mine.length);
  }

  function render() {
    formEl.replaceChildren();
    for (const field of schema.fields) {
      if (field.type === "heading") formEl.append(h("h2", { class: "entry-heading", text: field.text || field.label || "" }));
      if (!field.key) continue;
      const control = buildControl(field);
      controls.push(control);
      formEl.append(control.wrapper);
    }
    refreshVisibility();
  }

  function clearForm() {
    formEl.reset();
    for (const control of controls) showErrors(control, {});
    for (const dup of formEl.querySelectorAll(".entry-dup")) dup.hidden = true;
    refreshVisibility();
    clientId = uuid();
    const first = stops()[0];
    if (first) first.focus();
  }

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = `entry-status ${kind || ""}`;
  }

  function bumpCounter() {
    const count = Number(sessionStorage.getItem(COUNTER_KEY) || 0) + 1;
    sessionStorage.setItem(COUNTER_KEY, String(count));
    counterEl.textContent = String(count);
    return count;
  }

  function serverErrors(errors) {
    let first = null;
    for (const [path, messages] of Object.entries(errors || {})) {
      const [key, sub] = path.split(".");
      const control = controls.find((c) => c.field.key === key);
      if (!control) continue;
      const target = sub && control.parts[sub] ? sub : "";
      showErrors(control, { [target]: messages });
      first = first || (control.parts[target] ? control.parts[target].input : control.stops[0]);
    }
    setStatus(T.serverRefused, "is-error");
    if (first) first.focus();
  }

  async function save() {
    if (saving) return;
    refreshVisibility();
    const visible = controls.filter((c) => !c.wrapper.hidden);
    const bad = visible.filter((c) => !valid(c, true));
    if (bad.length) {
      setStatus(fmt(T.summary, bad.length), "is-error");
      const target = bad[0].wrapper.querySelector("[aria-invalid=true]") || bad[0].stops[0];
      if (target) target.focus();
      return;
    }
    saving = true;
    setStatus(T.saving, "");
    try {
      const response = await fetch(config.submitUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: JSON.stringify({ client_id: clientId, data: currentValues(), source: "web" }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.status === 200 || response.status === 201) {
        const count = bumpCounter();
        setStatus(fmt(body.status === "in_review" ? T.savedInReview : T.saved, count), "is-ok");
        clearForm();
      } else if (response.status === 400) {
        serverErrors(body.errors);
      } else if (response.status === 401 || response.status === 403) {
        setStatus(T.login, "is-error");
      } else {
        if (response.status === 409) clientId = uuid(); // that id went with other data
        setStatus(T.failed, "is-error");
      }
    } catch (_) {
      setStatus(T.failed, "is-error");
    } finally {
      saving = false;
    }
  }

  function onKeyDown(event) {
    const target = event.target;
    const control = controlOf(target);
    if (!control) return;
    const digit = /^[1-9]$/.test(event.key) ? Number(event.key) : 0;
    if (digit && target.tagName === "SELECT" && digit < target.options.length) {
      event.preventDefault(); // the n-th option, as printed before its label
      target.selectedIndex = digit;
      target.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    if (digit && control.boxes && digit <= control.boxes.length) {
      event.preventDefault();
      control.boxes[digit - 1].checked = !control.boxes[digit - 1].checked;
      target.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    if (!partValid(control, target)) return;
    refreshVisibility();
    const order = stops();
    const here = control.boxes ? order.indexOf(control.stops[0]) : order.indexOf(target);
    if (here >= 0 && here < order.length - 1) order[here + 1].focus();
    else save();
  }

  // --- duplicate-person warning --------------------------------------------------------------

  const dupTimers = new WeakMap();

  function checkDuplicate(control) {
    const parts = control.parts;
    const dup = control.wrapper.querySelector(".entry-dup");
    const read = (key) => (parts[key] ? parts[key].read().value : undefined);
    const query = {
      national_id: read("national_id") || "",
      phone: read("phone") || "",
      full_name: read("full_name") || "",
      birth_year: read("birth_year") || (read("birth_date") || "").slice(0, 4),
    };
    if (!query.national_id && !(query.phone && query.full_name && query.birth_year)) {
      dup.hidden = true;
      return;
    }
    clearTimeout(dupTimers.get(control));
    dupTimers.set(
      control,
      setTimeout(async () => {
        try {
          const response = await fetch(`${config.personCheckUrl}?${new URLSearchParams(query)}`, { credentials: "same-origin" });
          const body = response.ok ? await response.json() : { matches: [] };
          dup.textContent = body.matches.join(" · ");
          dup.hidden = !body.matches.length;
        } catch (_) {
          dup.hidden = true; // only a hint: the registry de-duplicates anyway
        }
      }, 250),
    );
  }

  function onChange(event) {
    const control = controlOf(event.target);
    if (!control) return;
    // Typing clears an error once fixed; leaving a field (change) shows what is wrong with it;
    // "required" shows when you try to move on from an empty one.
    const shownBefore = control.wrapper.querySelector("[aria-invalid=true]") || !control.error.hidden;
    if (event.type === "change" || shownBefore) showErrors(control, check(control, { requiredToo: false }).errors);
    refreshVisibility();
    if (control.field.type === "person") checkDuplicate(control);
  }

  render();
  counterEl.textContent = sessionStorage.getItem(COUNTER_KEY) || "0";
  formEl.addEventListener("keydown", onKeyDown);
  formEl.addEventListener("input", onChange);
  formEl.addEventListener("change", onChange);
  formEl.addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });
  const first = stops()[0];
  if (first) first.focus();
})();
