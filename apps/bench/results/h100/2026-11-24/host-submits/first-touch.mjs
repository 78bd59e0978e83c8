// First touch of fresh memory against touching it again (page faults), and a decode-like loop on fresh arrays.
for (const mb of [8, 64, 256]) {
  const a = new Float32Array((mb << 20) / 4);
  let t0 = performance.now();
  for (let i = 0; i < a.length; i += 1024) a[i] = 1;
  const first = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < a.length; i += 1024) a[i] = 2;
  const again = performance.now() - t0;
  t0 = performance.now();
  a.fill(3);
  const fill = performance.now() - t0;
  console.log(JSON.stringify({ mb, firstTouchMs: first, firstTouchGBs: mb / 1024 / (first / 1000), againMs: again, fillMs: fill }));
}
