/** Small HTML helpers shared by the run report and the comparison page. */
export function esc(s: unknown): string {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON for a `<script type="application/json">` block: no `</script>` or `<!--` can end it early. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Inline script text: a literal `</script` inside it would close the element. */
export function inlineScript(js: string): string {
  return js.replace(/<\/script/gi, '<\\/script');
}

/** Colours of nodes (and of runs in a comparison), the same in every chart and shading. */
export const palette = [
  '#2563eb',
  '#d97706',
  '#059669',
  '#db2777',
  '#7c3aed',
  '#0891b2',
  '#65a30d',
  '#dc2626',
  '#475569',
  '#ca8a04',
];

export const baseCss = `
:root { --fg:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f8fafc; --ok:#047857; --okbg:#d1fae5;
  --bad:#b91c1c; --badbg:#fee2e2; --skip:#6b7280; --skipbg:#f3f4f6; --accent:#2563eb; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; color:var(--fg); background:var(--bg); }
main { max-width:1120px; margin:0 auto; padding:24px 20px 48px; }
h1 { font-size:22px; margin:0 0 4px; } h2 { font-size:17px; margin:28px 0 10px; border-bottom:1px solid var(--line); padding-bottom:4px; }
h3 { font-size:15px; margin:0 0 6px; }
.muted { color:var(--muted); } .mono, code, pre { font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace; font-size:12.5px; }
table { border-collapse:collapse; width:100%; background:#fff; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; color:var(--muted); background:#f9fafb; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; white-space:nowrap; }
.passed, .pass { color:var(--ok); background:var(--okbg); } .failed, .fail { color:var(--bad); background:var(--badbg); }
.not-measured, .skip { color:var(--skip); background:var(--skipbg); }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:14px 16px; margin:12px 0; break-inside:avoid; }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
pre { background:#0f172a; color:#e2e8f0; padding:10px 12px; border-radius:6px; overflow:auto; max-height:360px; white-space:pre-wrap; }
details > summary { cursor:pointer; color:var(--accent); }
.delta-better { color:var(--ok); font-weight:600; } .delta-worse { color:var(--bad); font-weight:600; }
@media print { body { background:#fff; } .card { border-color:#d1d5db; } pre { max-height:none; } details { display:block; } }
`;
