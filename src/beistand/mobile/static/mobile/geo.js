/* Distances and directions on the phone: haversine distance and initial bearing between two
 * WGS 84 positions, told the way a person walks ("120 m Richtung Nordost"). */
const R = 6371008.8; // mean earth radius, metres
const rad = (deg) => deg * Math.PI / 180;

export function distanceM(a, b) {
  const dLat = rad(b.lat - a.lat), dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function bearingDeg(a, b) {
  const y = Math.sin(rad(b.lon - a.lon)) * Math.cos(rad(b.lat));
  const x = Math.cos(rad(a.lat)) * Math.sin(rad(b.lat)) -
    Math.sin(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.cos(rad(b.lon - a.lon));
  return (Math.atan2(y, x) * 180 / Math.PI + 360) % 360;
}

const POINTS = ["Nord", "Nordost", "Ost", "Südost", "Süd", "Südwest", "West", "Nordwest"];

export function compass(bearing) {
  return POINTS[Math.round(bearing / 45) % 8];
}

export function formatDistance(m) {
  if (m < 20) { return Math.round(m) + " m"; }
  if (m < 1000) { return Math.round(m / 10) * 10 + " m"; }
  return (m / 1000).toLocaleString("de-DE", {maximumFractionDigits: 1}) + " km";
}

/** "120 m Richtung Nordost" from ``from`` to ``to`` ({lat, lon}); close by: "hier (unter 20 m)". */
export function describe(from, to) {
  const m = distanceM(from, to);
  if (m < 20) { return "ganz in der Nähe (unter 20 m)"; }
  return formatDistance(m) + " Richtung " + compass(bearingDeg(from, to));
}

/** A link that opens the phone's map app at a position (no tile server of our own). */
export function mapHref(position, label, ios) {
  const ll = position.lat.toFixed(6) + "," + position.lon.toFixed(6);
  if (ios) {
    return "https://maps.apple.com/?ll=" + ll + "&q=" + encodeURIComponent(label || "Alarm");
  }
  return "geo:" + ll + "?q=" + ll + "(" + encodeURIComponent(label || "Alarm") + ")";
}
