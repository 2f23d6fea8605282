// The UI's only stylesheet and script, served by mlops itself (no CDN, no build step).
// The pages work without the script: it only guards the compare button (2 to 5 picks).

export const CSS = `
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{display:flex;gap:1.5rem;align-items:center;background:#1f2d3d;color:#fff;padding:.6rem 1.5rem}
header a{color:#fff;text-decoration:none}header .brand{font-weight:700;font-size:1.1rem}header nav{display:flex;gap:1rem}
main{padding:1rem 1.5rem;max-width:1400px}
h1{font-size:1.4rem;margin:.4rem 0}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}h3{font-size:1rem;margin:.2rem 0}
a{color:#1f5fa8}.crumbs{color:#666;margin:0}.muted{color:#666;font-size:.85rem}
table{border-collapse:collapse;font-size:.88rem;background:#fff;margin:.3rem 0}
th,td{border-bottom:1px solid #e3e3e3;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f2f5;white-space:nowrap}th a.sort{color:inherit;text-decoration:none}
.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:.78rem;color:#fff}
.badge.prod{background:#1b7f3b}.badge.stage{background:#b07d00}.badge.arch{background:#888}
.tag{display:inline-block;background:#eef2f7;border-radius:3px;padding:0 .3rem;font-size:.8rem;margin:1px}
.tag.alias{background:#efe6f7}
.bad{color:#b00020;font-weight:600}.ok{color:#1b7f3b;font-weight:600}
.diff.up{color:#1b7f3b}.diff.down{color:#b00020}
.filter{margin:.6rem 0;display:flex;gap:.8rem;align-items:center}
.filter input{padding:.2rem .4rem}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;background:#fff;padding:.6rem;border:1px solid #e3e3e3}
dl.fields dt{font-weight:600}dl.fields dd{margin:0;word-break:break-all}
ol.timeline{list-style:none;padding-left:0;border-left:3px solid #d0d7e2;margin-left:.4rem}
ol.timeline li{padding:.15rem .6rem;font-size:.88rem}
.charts,.features{display:flex;flex-wrap:wrap;gap:1rem}
figure.chart{margin:0;background:#fff;border:1px solid #e3e3e3;padding:.4rem}
figure.chart figcaption{font-size:.85rem;font-weight:600}
.feature{background:#fff;border:1px solid #e3e3e3;padding:.5rem}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 .8rem;vertical-align:middle}
.empty{background:#fff;border:1px dashed #ccc;padding:1rem}
.error{color:#b00020}
pre{background:#fff;border:1px solid #e3e3e3;padding:.6rem;overflow:auto}
`;

export const JS = `
'use strict';
document.addEventListener('DOMContentLoaded', function () {
  var form = document.getElementById('compare-form');
  if (!form) return;
  var button = document.getElementById('compare-button');
  function update() {
    var n = form.querySelectorAll('input[name=v]:checked').length;
    button.disabled = n < 2 || n > 5;
    button.textContent = n ? 'Compare ' + n + ' selected' : 'Compare selected';
  }
  form.addEventListener('change', update);
  update();
});
`;
