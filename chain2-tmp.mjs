import { rand } from 'openreg';
const t = rand([16], { device: 'openreg:0' }), u = rand([16], { device: 'openreg:0' });
await t.ready();
const run = async (a, b, n) => { const s = performance.now(); let y = a.add(b); for (let i = 1; i < n; i++) { const x = y.add(b); y.dispose(); y = x; } const e = performance.now(); await y.data(); y.dispose(); return (e - s) * 1000 / n; };
const r = []; for (let i = 0; i < 1500; i++) r.push(await run(t, u, 500)); r.sort((x, y) => x - y); console.log('enqueue us/op p50', r[750].toFixed(3), 'p25', r[375].toFixed(3));
