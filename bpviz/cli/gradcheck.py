"""``bpviz gradcheck``: backprop's gradient against finite differences, for every parameter."""

from __future__ import annotations

from ..engine.errors import ConfigError
from .common import EXIT_OK, add_run_options, config_from_args, number


def add_parser(subparsers) -> None:
    g = subparsers.add_parser("gradcheck", help="compare backprop with finite differences")
    add_run_options(g, with_epochs=False, training=False)
    g.add_argument("--tolerance", type=number(float, 0, True, "tolerance"), default=1e-6)
    g.add_argument("--samples-check", type=number(int, 1, name="samples"), default=64,
                   help="samples to check on (default 64)")
    g.set_defaults(func=cmd_gradcheck)


def cmd_gradcheck(args) -> int:
    from ..engine.config import build
    from ..engine.gradcheck import gradient_check
    cfg = config_from_args(args)
    dataset, net, trainer = build(cfg)
    n = min(len(trainer.X), args.samples_check)
    check = gradient_check(net, trainer.X[:n], trainer.T[:n])
    if not check.checked:
        raise ConfigError(f"nothing to check: all {n} samples sit on a ReLU kink (a pre-activation "
                          f"at 0), where the gradient is not defined; try other data, another "
                          f"--seed or --activation tanh")
    kind, layer, where = check.worst_location()
    skipped = f" ({n - check.samples} on a ReLU kink left out)" if check.samples < n else ""
    ok = check.worst <= args.tolerance
    print(f"gradcheck {dataset.name} {'-'.join(map(str, net.sizes))}: {net.n_parameters} parameters, "
          f"{check.samples} samples{skipped}, worst relative error {check.worst:.3g} at {kind}[{layer + 1}]{list(where)} "
          f"({'ok' if ok else 'FAILED'}: tolerance {args.tolerance:g})")
    return EXIT_OK if ok else 1
