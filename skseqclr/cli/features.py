"""``skseqclr features``: write the SeqCLR features of a dataset's windows with saved weights."""

from __future__ import annotations

import math
import time

import numpy as np

from ._common import DEFAULT_SFREQ, EXIT_OK, WEIGHTS_FILE, UsageError, _check_output_file, _say
from ._data import _check_data_dir, _load

def _features(args) -> int:
    from ..transformer import SeqCLRTransformer

    _check_data_dir(args.data_dir)
    _check_output_file(args.output, (".npy", ".parquet"))
    if args.output.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UsageError("--output .parquet needs pyarrow: pip install \"skseqclr[parquet]\"; "
                             "or write .npy.") from None
    weights = args.weights / WEIGHTS_FILE if args.weights.is_dir() else args.weights
    if not weights.is_file():
        raise UsageError(f"--weights {args.weights}: no weights file there (expected {WEIGHTS_FILE}).")
    overrides = {"device": args.device, "verbose": 0}
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    from .._validation import InvalidParameterError

    try:
        transformer = SeqCLRTransformer.load(weights, **overrides)
    except InvalidParameterError as error:  # --device: what the user typed (a damaged file is a plain ValueError)
        raise UsageError(f"--device {args.device}: {error}") from None
    if args.sfreq is None:
        args.sfreq = transformer.sfreq_ or DEFAULT_SFREQ
    elif transformer.preprocessing_.resample_to is None and transformer.sfreq_ is not None \
            and not math.isclose(args.sfreq, transformer.sfreq_):
        raise UsageError(f"--sfreq {args.sfreq:g}: the encoder was pretrained at {transformer.sfreq_:g} Hz; "
                         "leave --sfreq out to load the data at that rate.")
    data = _load(args.dataset, args, args.quiet)
    X, y = data.part(args.split)
    from ..inputs import as_window_source
    from ..options import Readout
    from ..recombination import feature_channel_pairs

    source = as_window_source(X)
    same_layout = source.n_channels in transformer.n_channels_fit_ and source.ch_names == transformer.ch_names_
    started = time.perf_counter()
    if same_layout:
        features = transformer.transform(X)
        names = [str(n) for n in transformer.get_feature_names_out()]
    else:
        per_channel = transformer.encode(X)
        features = per_channel.reshape(per_channel.shape[0], -1)
        readout = Readout() if transformer.readout is None else transformer.readout
        read = feature_channel_pairs(readout.feature_channels, list(source.ch_names))[2]
        names = [f"{ch}_f{j}" for ch in read for j in range(per_channel.shape[2])]
    elapsed = time.perf_counter() - started
    metadata = _window_metadata(data, args.split, y)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.output.suffix.lower() == ".npy":
        np.save(args.output, features.astype(np.float32))
        side = args.output.with_suffix(".metadata.csv")
        metadata.to_csv(side, index=False)
        written = f"{args.output} ({features.shape[0]} x {features.shape[1]} float32) and {side}"
    else:
        import pandas as pd

        table = pd.concat([metadata.reset_index(drop=True),
                           pd.DataFrame(features.astype(np.float32), columns=names)], axis=1)
        table.to_parquet(args.output, index=False)
        written = f"{args.output} ({features.shape[0]} rows, {len(metadata.columns)} metadata + {len(names)} feature columns)"
    _say(args, f"Encoded {features.shape[0]} windows in {elapsed:.0f} s; wrote {written}.")
    return EXIT_OK


def _window_metadata(data, split, y):
    import pandas as pd

    if data.metadata is None:
        table = pd.DataFrame({"target": y})
    else:
        metadata = data.metadata
        if split != "all":
            mask = data.train if split == "train" else ~data.train
            metadata = metadata[mask]
        table = metadata.reset_index(drop=True)
    table.insert(0, "dataset", data.name)
    return table
