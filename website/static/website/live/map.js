/* The live map (MapPage) and the citizens' map (PublicMapPage).
 *
 * Staff map: F0 cases clustered, F1 contacts and people in quarantine for users who may see
 * persons, checkpoints with today's passages, quarantine facilities with occupancy, and new
 * cases per commune as a choropleth (outlines when imported, else a circle at the centroid).
 * It follows the area's live events; new F0 cases appear without a reload.
 * Public map: the choropleth only, read again every minute (no login, no socket).
 * With no tile server configured the map draws on a plain background.
 */
(function () {
  "use strict";

  const OD = window.OutbreakLive;
  const config = OD.readConfig("live-config");
  const labels = config.labels;
  const el = OD.element;
  const REFRESH_AFTER_EVENTS_MS = 150;
  // Steps of the choropleth (new F0 cases in the range) and their colours, light to dark.
  const STEPS = [1, 3, 6, 11, 21];
  const COLOURS = ["#f7f7f7", "#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];

  function colourFor(count) {
    let index = 0;
    STEPS.forEach((step, position) => {
      if (count >= step) index = position + 1;
    });
    return COLOURS[index];
  }

  function caseCount(properties) {
    const counts = properties.counts || properties;
    return Number(counts.cases_f0 || 0);
  }

  function baseMap() {
    const map = L.map("live-map", { zoomControl: true, maxZoom: 18 }).setView(config.tiles.center, config.tiles.zoom);
    if (config.tiles.url) {
      L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: 18 }).addTo(map);
    } else {
      map.getContainer().classList.add("live-map-plain");
    }
    return map;
  }

  // --- Cases per commune (both maps) ----------------------------------------------------------

  class CommuneLayer {
    constructor(map) {
      this.map = map;
      this.layer = L.geoJSON(null, {
        style: (feature) => ({ color: "#57606a", weight: 1, fillOpacity: 0.7, fillColor: colourFor(caseCount(feature.properties)) }),
        pointToLayer: (feature, latlng) => {
          const count = caseCount(feature.properties);
          return L.circleMarker(latlng, { radius: 6 + Math.min(18, Math.sqrt(count) * 3) });
        },
        onEachFeature: (feature, layer) => layer.bindTooltip(this.tooltip(feature.properties)),
      });
      this.fitted = false;
    }

    tooltip(properties) {
      return el("span", {}, el("strong", { text: properties.name || properties.code || "" }), el("br"), `${labels.legend_cases}: ${OD.formatNumber(caseCount(properties))}`);
    }

    show(collection) {
      this.layer.clearLayers();
      this.layer.addData(collection);
      if (!this.fitted && this.layer.getLayers().length) {
        this.map.fitBounds(this.layer.getBounds(), { padding: [12, 12], maxZoom: 13 });
        this.fitted = true;
      }
    }

    legend() {
      const control = L.control({ position: "bottomright" });
      control.onAdd = () => {
        const rows = COLOURS.map((colour, index) => {
          const low = index === 0 ? 0 : STEPS[index - 1];
          const text = index === 0 ? "0" : index === COLOURS.length - 1 ? `${low}+` : `${low}–${STEPS[index] - 1}`;
          return el("div", {}, el("i", { style: `background:${colour}` }), text);
        });
        return el("div", { class: "live-legend" }, el("strong", { text: labels.legend_cases }), rows);
      };
      return control;
    }
  }

  function communeTable(collection) {
    const table = document.getElementById("live-communes");
    if (!table) return;
    // Communes with new cases only, most first: a province has a hundred or more communes.
    const rows = (collection.features || [])
      .map((feature) => feature.properties)
      .filter((properties) => caseCount(properties) > 0)
      .sort((a, b) => caseCount(b) - caseCount(a) || String(a.name).localeCompare(String(b.name)))
      .map((properties) => el("tr", { "data-area": properties.code }, el("td", { text: properties.name }), el("td", { class: "num", text: OD.formatNumber(caseCount(properties)) })));
    table.replaceChildren(
      el("thead", {}, el("tr", {}, el("th", { text: labels.area }), el("th", { class: "num", text: labels.legend_cases }))),
      el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 2, text: labels.no_cases }))),
    );
  }

  function publicMap() {
    const map = baseMap();
    const communes = new CommuneLayer(map);
    communes.layer.addTo(map);
    communes.legend().addTo(map);
    const params = { area: config.area && config.area.code, from: config.from, to: config.to };
    const load = () =>
      OD.fetchJSON(config.api.areas, params)
        .then((collection) => {
          communes.show(collection);
          communeTable(collection);
          OD.showMessage("");
        })
        .catch((error) => OD.showMessage(error.detail || labels.load_failed));
    load();
    window.setInterval(load, config.refreshSeconds * 1000);
  }

  // --- Staff map -------------------------------------------------------------------------------

  function clusterGroup(kind) {
    return L.markerClusterGroup({
      maxClusterRadius: 40,
      showCoverageOnHover: false,
      iconCreateFunction: (cluster) =>
        L.divIcon({ html: `<span>${cluster.getChildCount()}</span>`, className: `live-cluster live-cluster-${kind}`, iconSize: [34, 34] }),
    });
  }

  class CaseLayers {
    constructor() {
      this.groups = { case: clusterGroup("case"), contact: clusterGroup("contact"), quarantine: clusterGroup("quarantine") };
      this.markers = { case: new Map(), contact: new Map(), quarantine: new Map() };
    }

    popup(properties) {
      const area = properties.area || {};
      const rows = [
        el("strong", { text: labels[`kind_${properties.kind}`] || properties.kind }),
        el("div", { text: `${labels.level}: ${properties.level || ""}` }),
        el("div", { text: `${labels.date}: ${properties.date || ""}` }),
        el("div", { text: `${labels.area}: ${area.name || area.code || ""}` }),
      ];
      if (config.personUrl && properties.id) {
        rows.push(el("a", { href: config.personUrl.replace("{id}", properties.id), target: "_blank", rel: "noopener", text: labels.open_person }));
      }
      return el("div", { class: "live-popup" }, rows);
    }

    /** One point; an F0 that is already on the map (the snapshot had it) is not added twice. */
    add(properties, lat, lng) {
      const kind = properties.kind || "case";
      const markers = this.markers[kind];
      if (!markers || lat === null || lat === undefined || lng === null || lng === undefined) return false;
      if (markers.has(properties.id)) return false;
      const marker = L.marker([lat, lng], {
        icon: L.divIcon({ className: `live-marker live-marker-${kind}`, iconSize: [14, 14] }),
        keyboard: true,
        title: properties.level || "",
      });
      marker.bindPopup(() => this.popup(properties));
      markers.set(properties.id, marker);
      this.groups[kind].addLayer(marker);
      return true;
    }

    show(collection) {
      Object.values(this.groups).forEach((group) => group.clearLayers());
      Object.values(this.markers).forEach((markers) => markers.clear());
      (collection.features || []).forEach((feature) => {
        if (!feature.geometry || feature.geometry.type !== "Point") return;
        const [lng, lat] = feature.geometry.coordinates;
        this.add(feature.properties || {}, lat, lng);
      });
      this.count();
    }

    /** A ``case.new`` event: an F0 at its point (or its village's centroid). */
    addNew(payload) {
      if (payload.date && (payload.date < nav.range.from || payload.date > nav.range.to)) return;
      if (this.add({ ...payload, kind: "case" }, payload.lat, payload.lng)) this.count();
    }

    count() {
      const total = this.markers.case.size;
      document.getElementById("live-f0-count").textContent = OD.formatNumber(total);
      document.getElementById("live-map").dataset.f0Count = String(total);
    }
  }

  class PlaceLayers {
    constructor(places) {
      this.checkpoints = L.layerGroup();
      this.facilities = L.layerGroup();
      this.places = new Map(places.map((place) => [place.code, place]));
      this.markers = new Map();
      places.forEach((place) => this.addPlace(place));
    }

    addPlace(place) {
      if (place.lat === null || place.lng === null) return;
      const checkpoint = place.kind === "checkpoint";
      const marker = L.marker([place.lat, place.lng], {
        icon: L.divIcon({ className: `live-place live-place-${checkpoint ? "checkpoint" : "facility"}`, iconSize: [16, 16] }),
        title: place.name,
      });
      marker.bindPopup(() => this.popup(place));
      this.markers.set(place.code, marker);
      (checkpoint ? this.checkpoints : this.facilities).addLayer(marker);
    }

    popup(place) {
      const rows = [el("strong", { text: place.name })];
      if (place.kind === "checkpoint") {
        if (place.today) {
          rows.push(el("div", { text: `${labels.today_in}: ${OD.formatNumber(place.today.in)}` }));
          rows.push(el("div", { text: `${labels.today_out}: ${OD.formatNumber(place.today.out)}` }));
        }
      } else {
        rows.push(el("div", { text: `${labels.active}: ${OD.formatNumber(place.active)} / ${OD.formatNumber(place.capacity)}` }));
      }
      return el("div", { class: "live-popup" }, rows);
    }

    /** Occupancy and today's passages from the dashboard snapshot, joined by place code. */
    update(dashboard) {
      (dashboard.occupancy || []).forEach((row) => {
        const place = this.places.get(row.place);
        if (place) Object.assign(place, { active: row.active, capacity: row.capacity ?? place.capacity });
      });
      (dashboard.checkpoints || []).forEach((row) => {
        const place = this.places.get(row.place);
        if (place) place.today = { in: row.in ?? row.checkpoint_in, out: row.out ?? row.checkpoint_out };
      });
    }
  }

  const map = config.kind === "public" ? null : baseMap();
  let nav = null;

  function staffMap() {
    const cases = new CaseLayers();
    const places = new PlaceLayers(config.places);
    const communes = new CommuneLayer(map);
    const overlays = {};
    const shown = config.layers.shown;
    const addOverlay = (label, layer, visible) => {
      overlays[label] = layer;
      if (visible) layer.addTo(map);
    };
    addOverlay(labels.layer_communes, communes.layer, shown.communes);
    addOverlay(labels.layer_f0, cases.groups.case, true);
    if (config.layers.f1) addOverlay(labels.layer_f1, cases.groups.contact, shown.f1);
    if (config.layers.quarantine) addOverlay(labels.layer_quarantine, cases.groups.quarantine, shown.quarantine);
    addOverlay(labels.layer_checkpoints, places.checkpoints, shown.places);
    addOverlay(labels.layer_facilities, places.facilities, shown.places);
    L.control.layers(null, overlays, { collapsed: window.innerWidth < 700 }).addTo(map);
    communes.legend().addTo(map);

    const caseLayers = () => ["f0", config.layers.f1 && "f1", config.layers.quarantine && "quarantine"].filter(Boolean).join(",");
    const loadCases = () => OD.fetchJSON(config.api.cases, { ...nav.params(), layers: caseLayers() }).then((data) => (cases.show(data), data));
    const loadAreas = () => OD.fetchJSON(config.api.areas, nav.params()).then((data) => (communes.show(data), data));
    const loadDashboard = () =>
      OD.fetchJSON(config.api.dashboard, nav.params()).then((data) => {
        places.update(data);
        nav.setChildren((data.area && data.area.children) || []);
        return data;
      });
    const snapshot = () =>
      Promise.all([loadCases(), loadAreas(), loadDashboard()]).then((responses) => {
        OD.showMessage("");
        return OD.oldestSeq(responses);
      });

    const failed = (error) => OD.showMessage(error.detail || labels.load_failed);
    const refreshCounts = OD.debounce(() => Promise.all([loadAreas(), loadDashboard()]).catch(failed), REFRESH_AFTER_EVENTS_MS);
    const refreshCases = OD.debounce(() => loadCases().catch(failed), REFRESH_AFTER_EVENTS_MS);
    // Metrics whose change moves F1 contacts or people in quarantine (case.new carries F0s).
    const PERSON_METRICS = ["cases_f0", "cases_f1", "cases_f2", "quarantine_started", "quarantine_ended"];

    const client = new OD.LiveClient({
      path: config.socket,
      area: config.area.code,
      snapshot,
      onState: (state) => nav.showState(state),
      onError: failed,
      onEvent: (event) => {
        if (event.type === "case.new" && event.case) cases.addNew(event.case);
        if (event.type === "counts.changed") {
          refreshCounts();
          if ((event.metrics || []).some((metric) => PERSON_METRICS.includes(metric))) refreshCases();
        }
      },
    });
    nav = new OD.AreaNav(config, () => {
      communes.fitted = false;
      client.watch(nav.area.code);
    });
    nav.showState("connecting");
    client.start();
    window.liveMap = { map, client, cases, places, communes, nav };
  }

  if (config.kind === "public") publicMap();
  else staffMap();
})();
