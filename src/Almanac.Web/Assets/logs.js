// Live tail on /logs: polls /logs/rows (server-rendered rows, every value already HTML-encoded) for records at or
// after the newest one shown, and prepends those whose id is not on the page yet. Also shows the custom range
// fields when "Custom range" is picked. Nothing runs on other pages.
const list = document.getElementById('log-list');
const button = document.getElementById('live-tail');
const lookback = document.getElementById('l-lookback');
const range = document.getElementById('logs-custom-range');

if (lookback && range) {
  lookback.addEventListener('change', () => { range.hidden = lookback.value !== 'custom'; });
}

const PollMs = 2000;
const MaxRows = 2000; // the oldest rows are dropped beyond this so a long tail does not grow the page forever
let timer = null;
let polling = false;

function newestTimestamp() {
  let newest = null;
  for (const row of list.querySelectorAll('.log-row')) {
    const ts = BigInt(row.dataset.tsNs);
    if (newest === null || ts > newest) newest = ts;
  }
  return newest;
}

async function poll() {
  if (polling) return;
  polling = true;
  try {
    const url = new URL(list.dataset.tailUrl, location.origin);
    const newest = newestTimestamp();
    // Without rows yet the first poll starts now; afterwards at the newest shown (ties are skipped by id).
    url.searchParams.set('sinceNs', (newest ?? BigInt(Date.now()) * 1000000n).toString());
    url.searchParams.delete('lookback');
    url.searchParams.delete('start');
    url.searchParams.delete('end');
    url.searchParams.set('limit', '200');
    const response = await fetch(url, { headers: { Accept: 'text/html' } });
    if (!response.ok) return;
    const template = document.createElement('template');
    template.innerHTML = await response.text();
    const known = new Set([...list.querySelectorAll('.log-row')].map(r => r.dataset.id));
    // Rows come newest first; insert them oldest first at the top so the list stays newest first.
    const fresh = [...template.content.querySelectorAll('.log-row')].filter(r => !known.has(r.dataset.id)).reverse();
    if (fresh.length === 0) return;
    document.getElementById('no-logs')?.remove();
    for (const row of fresh) {
      row.classList.add('log-new');
      list.prepend(row);
    }
    const rows = list.querySelectorAll('.log-row');
    for (let i = rows.length - 1; i >= MaxRows; i--) rows[i].remove();
    const count = document.getElementById('log-count');
    if (count) {
      const n = list.querySelectorAll('.log-row').length;
      count.textContent = `${n} ${n === 1 ? 'record' : 'records'}`;
    }
  } catch {
    // A failed poll (server restarting) is retried on the next tick.
  } finally {
    polling = false;
  }
}

if (list && button) {
  button.addEventListener('click', () => {
    const on = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
    button.textContent = on ? 'Stop live tail' : 'Live tail';
    clearInterval(timer);
    timer = null;
    if (on) {
      poll();
      timer = setInterval(poll, PollMs);
    }
  });
}
