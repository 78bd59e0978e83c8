# torch-ref.py with the GPU's clocks raised as the bench raises them (apps/bench/src/gpu-clocks.ts): before
# every warm-up and sample a 4096² matmul is timed until it is within 15% of its fastest time (at least
# 1.5 s the first time, at most 5 s), at most every 0.2 s, and after each heating the timed call runs
# once untimed. Run as torch-ref.py is; it reads torch-ref.py beside it.
import os, time, torch
_best = [float('inf')]
_done = [-1e9]
_A = None
def heat():
    global _A
    if time.perf_counter() - _done[0] < 0.2: return False
    if _A is None: _A = torch.randn(4096, 4096, device='cuda')
    t0 = time.perf_counter(); settle = 1.5 if _best[0] == float('inf') else 0.0
    while True:
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record(); _A @ _A; e.record(); torch.cuda.synchronize()
        ms = s.elapsed_time(e); _best[0] = min(_best[0], ms); t = time.perf_counter() - t0
        if (t >= settle and ms <= 1.15 * _best[0]) or t >= 5:
            _done[0] = time.perf_counter(); return True
src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'torch-ref.py')).read()
for fn in ('gpu_ms', 'wall_ms'):
    head = f'def {fn}(fn):\n    for _ in range(WARM): fn()'
    assert src.count(head) == 1, fn
    src = src.replace(head, f'def {fn}(fn):\n    heat()\n    for _ in range(WARM): fn()')
loop = '    for _ in range(ITERS):\n'
assert src.count(loop) == 2
src = src.replace(loop, loop + '        if heat(): fn(); torch.cuda.synchronize()\n')
exec(compile(src, 'torch-ref.py', 'exec'))
