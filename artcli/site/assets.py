"""The site's one stylesheet and one small script (no framework, nothing from a CDN).

The script does two things, and every page reads fine without it: a filter box above long
tables, and "in 3 days" beside an expiry time, measured with the reader's clock.
"""

from __future__ import annotations

CSS = """\
:root { --fg: #1b1b1b; --muted: #5a5a5a; --line: #d8d8d8; --bg: #ffffff; --soft: #f6f7f9; --link: #0b57a4; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: baseline; padding: .6rem 1rem;
  border-bottom: 1px solid var(--line); background: var(--soft); }
header .home { font-weight: 600; }
nav { color: var(--muted); overflow-wrap: anywhere; }
main { max-width: 80rem; margin: 0 auto; padding: .5rem 1rem 2rem; }
footer { max-width: 80rem; margin: 0 auto; padding: 1rem; color: var(--muted); font-size: .85rem;
  border-top: 1px solid var(--line); overflow-wrap: anywhere; }
h1 { font-size: 1.5rem; margin: .8rem 0; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; }
h3 { font-size: 1rem; margin: 0 0 .4rem; overflow-wrap: anywhere; }
a { color: var(--link); }
a:focus-visible, input:focus-visible, summary:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
code, .mono, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .88em; }
code { overflow-wrap: anywhere; }
.digest { word-break: break-all; }
.none { color: var(--muted); }
.note, .legend { color: var(--muted); font-size: .9rem; }
.scroll { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; min-width: 100%; font-size: .92rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td { max-width: 30rem; overflow-wrap: break-word; }
time, .badge, td .mono, .ttl, .nw { white-space: nowrap; }
tr[hidden] { display: none; }
.filter { display: block; margin: .3rem 0 .5rem; color: var(--muted); font-size: .9rem; }
.filter input { font: inherit; padding: .25rem .4rem; width: min(20rem, 100%); border: 1px solid #999; border-radius: 4px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: .5rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; min-width: 0; }
.badge { display: inline-block; padding: 0 .4rem; border: 1px solid; border-radius: .6rem; font-size: .8rem;
  line-height: 1.4; white-space: nowrap; }
.b-live { color: #1e6b2f; background: #e9f6ec; }
.b-deleted, .b-unlinked, .b-missing { color: #8a1c1c; background: #fbeaea; }
.b-expired { color: #7a4a00; background: #fff3dc; }
.b-alias { color: #0b4f8a; background: #e8f0fe; }
.b-kind, .b-tag { color: var(--muted); background: var(--soft); font-size: .72rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr)); gap: .8rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .7rem .8rem; background: var(--soft); min-width: 0; }
.card dl { margin: 0; }
.card dt { font-weight: 600; margin-top: .45rem; overflow-wrap: anywhere; }
.card dd { margin: .1rem 0 0; overflow-wrap: anywhere; }
.card .set { display: block; color: var(--muted); font-size: .75rem; }
.exact { color: var(--muted); font-size: .85em; }
.v-json { margin: .2rem 0; padding: .4rem; background: #fff; border: 1px solid var(--line); overflow-x: auto;
  max-height: 16rem; }
figure.graph { margin: .5rem 0; border: 1px solid var(--line); border-radius: 6px; padding: .4rem; }
figure.graph svg { display: block; max-width: none; }
.pager { margin: .4rem 0; }
.ttl-left { color: var(--muted); }
@media (max-width: 40rem) {
  body { font-size: 14px; }
  main { padding: .4rem .6rem 1.5rem; }
  dl.facts { grid-template-columns: 1fr; gap: 0; }
  dl.facts dd { margin-bottom: .4rem; }
  th, td { padding: .3rem .35rem; }
}
"""

JS = """\
// artcli site: filter boxes for long tables, and time left before a version expires.
(function () {
  "use strict";
  function filters() {
    document.querySelectorAll("input[data-filter]").forEach(function (box) {
      var table = box.closest("label").nextElementSibling.querySelector("tbody");
      box.addEventListener("input", function () {
        var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
        table.querySelectorAll("tr").forEach(function (row) {
          var text = row.textContent.toLowerCase();
          row.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
        });
      });
    });
  }
  function left(ms) {
    var past = ms < 0, s = Math.abs(ms) / 1000, n, unit;
    if (s < 3600) { n = Math.max(1, Math.round(s / 60)); unit = "minute"; }
    else if (s < 172800) { n = Math.round(s / 3600); unit = "hour"; }
    else { n = Math.round(s / 86400); unit = "day"; }
    var span = n + " " + unit + (n === 1 ? "" : "s");
    return past ? "expired " + span + " ago" : "in " + span;
  }
  function ttls() {
    var now = Date.now();
    document.querySelectorAll(".ttl[data-expires]").forEach(function (el) {
      var when = Date.parse(el.getAttribute("data-expires"));
      if (isNaN(when)) { return; }
      var note = document.createElement("span");
      note.className = "ttl-left";
      note.textContent = " (" + left(when - now) + ")";
      el.appendChild(note);
    });
  }
  filters();
  ttls();
}());
"""
