//! `conformance-report/index.html`: one self-contained page (inline CSS and JS, no external asset)
//! with the matrix, filters by area, cell status, stack and text, and a details panel per cell.
//!
//! The table is rendered here, so the page shows the matrix even without JavaScript; the script
//! only filters rows and columns and fills the details panel from the embedded `results.json`.

use std::fmt::Write;

use super::levels;
use super::model::{Report, Status};

const STYLE: &str = r#"
:root { --pass:#d8f3dc; --deviation:#fff3bf; --skip:#e9ecef; --fail:#ffc9c9; --fixed:#d0ebff; --error:#e599f7; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #212529; }
header { padding: 12px 20px 4px; }
h1 { font-size: 20px; margin: 0 0 4px; }
p.lead { margin: 0 0 8px; color: #495057; }
table { border-collapse: collapse; }
th, td { border: 1px solid #dee2e6; padding: 3px 6px; text-align: left; vertical-align: top; }
#stacks { margin: 0 20px 10px; }
#stacks td { max-width: 420px; }
#stacks td.n { text-align: right; font-variant-numeric: tabular-nums; }
form { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 8px 20px;
  background: #f8f9fa; border-top: 1px solid #dee2e6; border-bottom: 1px solid #dee2e6;
  position: sticky; top: 0; z-index: 2; }
form input[type=search] { width: 240px; }
#shown { color: #495057; }
#layout { display: flex; gap: 16px; padding: 10px 20px; align-items: flex-start; }
#matrix thead th { position: sticky; top: 44px; background: #fff; z-index: 1; }
#matrix th small { display: block; font-weight: normal; color: #6c757d; max-width: 260px;
  max-height: 2.9em; overflow: hidden; }
tr.area th { background: #e7f5ff; font-size: 15px; }
td.script code { font-size: 12px; }
td.script .title { color: #495057; font-size: 12px; }
td.rfc { font-size: 12px; color: #495057; max-width: 180px; }
td.cell { cursor: pointer; text-align: center; white-space: nowrap; font-weight: 600; min-width: 90px; }
td.cell.pass { background: var(--pass); } td.cell.deviation { background: var(--deviation); }
td.cell.skip { background: var(--skip); } td.cell.fail { background: var(--fail); }
td.cell.fixed { background: var(--fixed); } td.cell.error { background: var(--error); }
td.cell.none { color: #adb5bd; }
td.cell.selected { outline: 3px solid #1c7ed6; outline-offset: -3px; }
aside { position: sticky; top: 56px; width: 420px; flex: none; border: 1px solid #dee2e6;
  border-radius: 6px; padding: 10px 12px; background: #fff; max-height: 85vh; overflow: auto; }
aside h2 { font-size: 15px; margin: 0 0 6px; }
aside dt { font-weight: 600; margin-top: 6px; }
aside dd { margin: 0; }
aside pre { white-space: pre-wrap; word-break: break-all; background: #f1f3f5; padding: 4px 6px; margin: 2px 0; }
.hidden { display: none; }
"#;

const SCRIPT: &str = r#"
const data = JSON.parse(document.getElementById('data').textContent);
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const rows = Array.from(document.querySelectorAll('#matrix tbody tr.row'));
function apply() {
  const area = $('f-area').value, status = $('f-status').value, stack = $('f-stack').value;
  const text = $('f-text').value.trim().toLowerCase();
  document.querySelectorAll('#matrix [data-stack]').forEach((el) => {
    el.classList.toggle('hidden', stack !== '' && el.dataset.stack !== stack);
  });
  let shown = 0;
  const areas = new Set();
  rows.forEach((tr) => {
    let ok = (area === '' || tr.dataset.area === area) && (text === '' || tr.dataset.text.includes(text));
    if (ok && status !== '') {
      const cells = Array.from(tr.querySelectorAll('td.cell'))
        .filter((td) => stack === '' || td.dataset.stack === stack);
      ok = cells.some((td) => status === 'not-pass' ? td.dataset.status !== 'pass' : td.dataset.status === status);
    }
    tr.classList.toggle('hidden', !ok);
    if (ok) { shown++; areas.add(tr.dataset.area); }
  });
  document.querySelectorAll('#matrix tr.area').forEach((tr) => tr.classList.toggle('hidden', !areas.has(tr.dataset.area)));
  $('shown').textContent = shown + ' of ' + rows.length + ' scripts shown';
}
function details(td) {
  document.querySelectorAll('td.cell.selected').forEach((el) => el.classList.remove('selected'));
  td.classList.add('selected');
  const id = td.parentElement.dataset.id, stackName = td.dataset.stack;
  const col = data.stacks.find((s) => s.stack === stackName);
  const script = data.scripts.find((s) => s.id === id);
  const cell = col && col.cells[id];
  let h = '<h2>' + esc(id) + ' · ' + esc(stackName) + '</h2><p>' + esc(script ? script.title : '') + '</p>';
  if (!cell) { $('details').innerHTML = h + '<p>Not run on this stack.</p>'; return; }
  const item = (k, v) => { h += '<dt>' + k + '</dt><dd>' + v + '</dd>'; };
  h += '<dl>';
  item('cell', esc(cell.status));
  item('expected vs actual verdict', esc(cell.expected) + ' → ' + esc(cell.verdict));
  if (cell.expected_reason) item('why ' + esc(cell.expected) + ' is expected', esc(cell.expected_reason) + (cell.expected_rfc ? ' (' + esc(cell.expected_rfc) + ')' : ''));
  if (cell.line) item('line ' + cell.line, '<pre>' + esc(cell.source || '') + '</pre>');
  if (cell.message) item('message', esc(cell.message));
  if (cell.wanted) item('script expects', '<pre>' + esc(cell.wanted) + '</pre>');
  if (cell.actual) item('stack did', '<pre>' + esc(cell.actual) + '</pre>');
  if (cell.differences && cell.differences.length) item('differences', cell.differences.map((d) => '<pre>' + esc(d) + '</pre>').join(''));
  if (cell.measurements && cell.measurements.length) item('measurements', cell.measurements.map((m) => esc(m.name) + ' = ' + m.seconds.toFixed(3) + ' s (line ' + m.line + ')').join('<br>'));
  if (cell.attempts && cell.attempts > 1) item('attempts', cell.attempts + ' (the earlier runs differed from the expectation)');
  if (script && script.rfc.length) item('RFC', esc(script.rfc.join(', ')));
  item('stack', esc(col.stack + ' ' + col.version + ' · ' + col.profile));
  $('details').innerHTML = h + '</dl>';
}
document.querySelectorAll('#filters select, #filters input').forEach((el) => el.addEventListener('input', apply));
document.getElementById('matrix').addEventListener('click', (e) => {
  const td = e.target.closest('td.cell');
  if (!td) return;
  details(td);
  history.replaceState(null, '', '#' + td.parentElement.dataset.id + '::' + td.dataset.stack);
});
apply();
// `index.html#rst/established-in-window::linux` shows that script's row and the cell's details.
const wanted = decodeURIComponent(location.hash.slice(1)).split('::');
if (wanted.length === 2) {
  const tr = rows.find((r) => r.dataset.id === wanted[0]);
  const td = tr && Array.from(tr.querySelectorAll('td.cell')).find((c) => c.dataset.stack === wanted[1]);
  if (td) { $('f-text').value = wanted[0]; apply(); details(td); }
}
"#;

/// Renders the page; `json` is the report as `results.json` holds it.
pub(super) fn render(report: &Report, json: &str) -> String {
    let mut h = String::new();
    h.push_str(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>tcpconf conformance matrix</title>\n<style>",
    );
    h.push_str(STYLE);
    h.push_str("</style>\n</head>\n<body>\n<header>\n<h1>tcpconf conformance matrix</h1>\n");
    let _ = writeln!(
        h,
        "<p class=\"lead\">{} scripts × {} stack(s). Click a cell for expected vs actual, the failing \
         line, the reason and measurements. Generated by <code>tcpconf matrix</code>.</p>\n</header>",
        report.scripts.len(),
        report.stacks.len()
    );
    stacks(report, &mut h);
    filters(report, &mut h);
    table(report, &mut h);
    h.push_str("<script type=\"application/json\" id=\"data\">");
    // `<` only occurs inside JSON strings, where `\u003c` means the same; this keeps `</script>`
    // in a failure message from ending the element.
    h.push_str(&json.replace('<', "\\u003c"));
    h.push_str("</script>\n<script>");
    h.push_str(SCRIPT);
    h.push_str("</script>\n</body>\n</html>\n");
    h
}

fn stacks(report: &Report, h: &mut String) {
    h.push_str("<table id=\"stacks\"><thead><tr><th>stack</th><th>version</th><th>profile</th>");
    for s in Status::ALL {
        let _ = write!(h, "<th>{}</th>", s.name());
    }
    h.push_str("</tr></thead><tbody>\n");
    for c in &report.stacks {
        let counts = c.counts(report.scripts.iter().map(|s| s.id.as_str()));
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            esc(&c.stack),
            esc(&c.version),
            esc(&c.profile)
        );
        for s in Status::ALL {
            let _ = write!(
                h,
                "<td class=\"n\">{}</td>",
                counts.get(&s).copied().unwrap_or(0)
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
    deviation_levels(report, h);
}

/// The deviations by requirement level (see `levels`), as in the README.
fn deviation_levels(report: &Report, h: &mut String) {
    let all: Vec<levels::Levels> = report
        .stacks
        .iter()
        .map(|c| levels::of(report, c))
        .collect();
    let shown = super::markdown::shown_levels(&all);
    h.push_str("<table id=\"levels\"><caption>Deviations by requirement level</caption><thead><tr><th>stack</th>");
    for l in &shown {
        let _ = write!(h, "<th>{}</th>", esc(l.name()));
    }
    h.push_str("<th>MUST ids named</th></tr></thead><tbody>\n");
    for (c, l) in report.stacks.iter().zip(&all) {
        let _ = write!(h, "<tr><td>{}</td>", esc(&c.stack));
        for level in &shown {
            let _ = write!(
                h,
                "<td class=\"n\">{}</td>",
                l.counts.get(level).copied().unwrap_or(0)
            );
        }
        let musts: Vec<String> = l.musts.keys().map(|n| format!("MUST-{n}")).collect();
        let _ = writeln!(h, "<td>{}</td></tr>", esc(&musts.join(", ")));
    }
    h.push_str("</tbody></table>\n");
}

fn filters(report: &Report, h: &mut String) {
    h.push_str("<form id=\"filters\" onsubmit=\"return false\">\n<label>Area <select id=\"f-area\"><option value=\"\">all</option>");
    for a in report.areas() {
        let _ = write!(h, "<option>{}</option>", esc(&a));
    }
    h.push_str("</select></label>\n<label>Cell <select id=\"f-status\"><option value=\"\">any</option><option value=\"not-pass\">anything but pass</option>");
    for s in Status::ALL {
        let _ = write!(h, "<option>{}</option>", s.name());
    }
    h.push_str(
        "</select></label>\n<label>Stack <select id=\"f-stack\"><option value=\"\">all</option>",
    );
    for c in &report.stacks {
        let _ = write!(h, "<option>{}</option>", esc(&c.stack));
    }
    h.push_str(
        "</select></label>\n<label>Text <input id=\"f-text\" type=\"search\" \
         placeholder=\"script, title or RFC id\"></label>\n<span id=\"shown\"></span>\n</form>\n",
    );
}

fn table(report: &Report, h: &mut String) {
    h.push_str(
        "<div id=\"layout\">\n<table id=\"matrix\">\n<thead><tr><th>script</th><th>RFC</th>",
    );
    for c in &report.stacks {
        let _ = write!(
            h,
            "<th data-stack=\"{s}\">{s}<small title=\"{v} · {p}\">{v} · {p}</small></th>",
            v = esc(&c.version),
            p = esc(&c.profile),
            s = esc(&c.stack)
        );
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let width = report.stacks.len() + 2;
    for area in report.areas() {
        let scripts: Vec<_> = report.scripts.iter().filter(|s| s.area == area).collect();
        let _ = writeln!(
            h,
            "<tr class=\"area\" data-area=\"{a}\"><th colspan=\"{width}\">{a} ({})</th></tr>",
            scripts.len(),
            a = esc(&area)
        );
        for s in scripts {
            let text = format!("{} {} {}", s.id, s.title, s.rfc.join(" ")).to_lowercase();
            let profile = if s.profile.as_deref() == Some("rfc793") {
                " <small>(rfc793)</small>"
            } else {
                ""
            };
            let _ = write!(
                h,
                "<tr class=\"row\" data-area=\"{}\" data-id=\"{id}\" data-text=\"{}\"><td class=\"script\"><code>{id}</code>{profile}<div class=\"title\">{}</div></td><td class=\"rfc\">{}</td>",
                esc(&area),
                esc(&text),
                esc(&s.title),
                esc(&s.rfc.join(", ")),
                id = esc(&s.id)
            );
            for c in &report.stacks {
                match c.cells.get(&s.id) {
                    Some(cell) => {
                        let _ = write!(
                            h,
                            "<td class=\"cell {n}\" data-stack=\"{}\" data-status=\"{n}\">{n}</td>",
                            esc(&c.stack),
                            n = cell.status.name()
                        );
                    }
                    None => {
                        let _ = write!(
                            h,
                            "<td class=\"cell none\" data-stack=\"{}\" data-status=\"none\">—</td>",
                            esc(&c.stack)
                        );
                    }
                }
            }
            h.push_str("</tr>\n");
        }
    }
    h.push_str("</tbody>\n</table>\n<aside id=\"details\"><h2>Details</h2><p>Click a cell to see what the script expected, what the stack did, the failing line, the reason and any measurement.</p></aside>\n</div>\n");
}

/// Text safe in HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_contained_and_escaped() {
        let report = Report::new(
            vec![super::super::ScriptEntry {
                id: "rst/a".into(),
                title: "a <b> & \"c\"".into(),
                area: "rst".into(),
                profile: None,
                rfc: vec!["MUST-1".into()],
            }],
            vec![],
        );
        let page = render(&report, "{\"x\": \"</script>\"}");
        assert!(page.contains("a &lt;b&gt; &amp; &quot;c&quot;"));
        assert!(!page.contains("\"</script>\""));
        assert!(!page.contains("src=") && !page.contains("href=\"http"));
    }
}
