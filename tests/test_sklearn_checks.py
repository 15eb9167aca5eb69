"""scikit-learn's estimator checks on a tiny SeqCLRTransformer.

The checks feed 2-D arrays, which SeqCLRTransformer reads as (n_windows, n_times)
single-channel windows, so a microscopic encoder (kernels of 2 samples) lets
them run on windows of a few samples.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skseqclr import SeqCLRTransformer

MICRO = dict(
    model_size="small",
    encoder_kwargs=dict(branch_kernels=(2, 2, 1), branch_channels=(2, 2, 1), n_residual=1,
                        residual_kernel=2, output_kernel=2),
    projector_kwargs=dict(lstm_sizes=(2, 2, 2), hidden_size=4, output_size=4),
    time_shift=None, zero_mask=None, bandstop=None,
    n_epochs=1, batch_size=8, random_state=0,
)

ANY_LENGTH = (
    "Windows of any length are accepted by design (paper §2.3: the encoder is length-preserving "
    "and pooled over time), so transform does not refuse a different number of columns."
)
EXPECTED_FAILED_CHECKS = {
    "check_n_features_in_after_fitting": ANY_LENGTH,
    "check_transformer_general": ANY_LENGTH,
}


@parametrize_with_checks(
    [SeqCLRTransformer(**MICRO)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
