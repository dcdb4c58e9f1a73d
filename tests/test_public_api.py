"""Old public import paths keep working: every public name (the front door's ``__all__`` and every
class and function defined in a public module, as of mlplab 0.3 before the redesign of issue 23)
is still importable from the module users imported it from; and the documented CLI subcommands,
options and file formats still exist (the CLI's own tests and tests/test_io.py hold their behaviour)."""

import importlib
import subprocess
import sys

import pytest

PUBLIC = {'mlplab': ['ACTIVATIONS', 'Adam', 'DivergenceError', 'GD', 'GradCheck', 'History', 'LOSSES', 'LayerTrace',
            'MLP', 'MiniBatchSGD', 'ModelFileError', 'Momentum', 'Problem', 'SGD', 'Trace', 'TrainResult',
            '__version__', 'datasets', 'get_activation', 'get_loss', 'gradcheck', 'load', 'optim', 'save',
            'sweep', 'train'],
 'mlplab.activations': ['Activation', 'get_activation', 'log_softmax'],
 'mlplab.analysis': ['Curvature', 'Diagnosis', 'FlowPoint', 'GradientFlow', 'HUGE', 'HessianVectorProduct',
                     'LayerFlow', 'RateFit', 'SATURATION', 'StationaryPoint', 'Surface', 'THRESHOLD',
                     'TrajectoryRecorder', 'VERDICTS', 'batched_loss', 'decision_grid', 'diagnose_gradients',
                     'direction_slice', 'direction_surface', 'fit_rate', 'gradient_flow', 'hessian',
                     'hessian_extremes', 'hvp_extremes', 'layer_flows', 'param_name', 'param_surface',
                     'pca_directions', 'per_sample_grad_norms', 'radial_minimum', 'random_direction',
                     'stationary_point', 'theory_rate'],
 'mlplab.analysis.gradflow': ['Diagnosis', 'FlowPoint', 'GradientFlow', 'LayerFlow', 'diagnose_gradients',
                              'gradient_flow', 'layer_flows'],
 'mlplab.analysis.rates': ['RateFit', 'fit_rate', 'theory_rate'],
 'mlplab.analysis.stationary': ['Curvature', 'HessianVectorProduct', 'StationaryPoint', 'hessian',
                                'hessian_extremes', 'hvp_extremes', 'per_sample_grad_norms',
                                'stationary_point'],
 'mlplab.analysis.surfaces': ['Surface', 'batched_loss', 'decision_grid', 'direction_slice',
                              'direction_surface', 'param_name', 'param_surface', 'pca_directions',
                              'radial_minimum', 'random_direction'],
 'mlplab.analysis.trajectory': ['TrajectoryRecorder'],
 'mlplab.compare': ['Comparison', 'History_slice', 'Run', 'default_specs', 'describe_net', 'fit_run_rate',
                    'format_table', 'from_result', 'history_table', 'hold_to_budget', 'main',
                    'reference_below_best', 'run_comparison', 'write_history'],
 'mlplab.data': ['DataError', 'StandardScaler', 'Table', 'check_training_table', 'check_unique_names',
                 'codes_for', 'csv_header', 'encode_labels', 'file_header', 'infer_task', 'load_file',
                 'split_indices'],
 'mlplab.datasets': ['blobs', 'circles', 'column_names', 'lecture', 'lecture_network', 'linear_regression',
                     'load', 'moons', 'names', 'spirals', 'xor'],
 'mlplab.figures': ['CAPTIONS', 'COST_LABEL', 'DecisionData', 'FlowLines', 'PathData', 'SurfaceView',
                    'accuracy', 'comparison_surface', 'constant_text', 'decision_data', 'decision_view',
                    'figure_plan', 'flow_lines', 'gap_split', 'hidden_map_grid', 'hidden_maps',
                    'infimum_curve', 'log_levels', 'longest_run', 'output_saturation_harmless', 'pretty',
                    'reference_margin', 'run_color', 'run_dash', 'run_marker', 'snapshot_indices',
                    'step_symbol', 'thin_indices', 'unit_colorscale', 'unit_range', 'unit_ranges'],
 'mlplab.gradcheck': ['GradCheck', 'gradcheck'],
 'mlplab.initializers': ['initialize', 'parse_init'],
 'mlplab.inputs': ['input_grad', 'input_product', 'issparse'],
 'mlplab.io': ['ModelFileError', 'architecture', 'atomic_write', 'load', 'load_checkpoint', 'load_network',
               'remove_stale_temporaries', 'save', 'save_checkpoint', 'tensors_sha256'],
 'mlplab.losses': ['LogitForm', 'Loss', 'get_loss', 'output_error'],
 'mlplab.network': ['LayerSlices', 'LayerTrace', 'MLP', 'Trace', 'Workspace', 'resolve_dtype'],
 'mlplab.objective': ['Problem'],
 'mlplab.optim': ['Adam', 'Armijo', 'Constant', 'Custom', 'ExactLineSearch', 'Exponential', 'GD', 'Inverse',
                  'LineSearchInfo', 'MiniBatchSGD', 'Momentum', 'OptState', 'Optimizer', 'Power', 'SGD',
                  'Schedule', 'StepDecay', 'StepInfo', 'as_schedule', 'constant', 'exponential', 'inverse',
                  'power', 'step'],
 'mlplab.optim.linesearch': ['Armijo', 'ExactLineSearch', 'LineSearchInfo'],
 'mlplab.optim.optimizers': ['Adam', 'GD', 'MiniBatchSGD', 'Momentum', 'OptState', 'Optimizer', 'SGD',
                             'StepInfo'],
 'mlplab.optim.schedules': ['Constant', 'Custom', 'Exponential', 'Inverse', 'Power', 'Schedule', 'StepDecay',
                            'as_schedule', 'constant', 'exponential', 'inverse', 'power', 'step'],
 'mlplab.playground': ['missing'],
 'mlplab.plots': ['bound_factors', 'contour', 'convergence', 'decision_boundary', 'figures', 'grad_norms',
                  'hidden_units', 'infimum', 'layer_grad_norms', 'layer_heatmap', 'save_pngs', 'slice_1d',
                  'step_sizes', 'surface_3d'],
 'mlplab.report': ['bound_factors', 'contour', 'convergence', 'decision_boundary', 'figures', 'grad_norms',
                   'hidden_units', 'infimum', 'layer_bars', 'layer_grad_norms', 'layer_heatmap', 'slice_1d',
                   'snapshot_data', 'step_sizes', 'surface_3d', 'write_report'],
 'mlplab.sklearn': ['MLPClassifier', 'MLPRegressor'],
 'mlplab.sweeps': ['ClusterLost', 'Halving', 'MAX_ATTEMPTS', 'Outcome', 'Plain', 'SpecError', 'TPE', 'best',
                   'check_out', 'describe', 'expand', 'load_runs', 'make_backend', 'run', 'score',
                   'summarize', 'sweep', 'to_toml', 'train_options'],
 'mlplab.train': ['train'],
 'mlplab.training': []}

# files the guides and the README document (model files, checkpoints, sweep results) and where
# they are read: the readers are public names above (mlplab.load, mlplab.io.load_checkpoint, …)

SUBCOMMANDS = ["train", "evaluate", "predict", "inspect", "gradcheck", "datasets", "compare", "report", "sweep",
               "playground"]


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_still_import_from_their_old_paths(module):
    mod = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(mod, name)]
    assert not missing, f"{module} lost {missing}"


def test_documented_subcommands_exist():
    out = subprocess.run([sys.executable, "-m", "mlplab.cli", "--help"], capture_output=True, text=True, check=True).stdout
    for sub in SUBCOMMANDS:
        assert f"    {sub}" in out, sub
        sub_help = subprocess.run([sys.executable, "-m", "mlplab.cli", sub, "--help"], capture_output=True, text=True)
        assert sub_help.returncode == 0 and "usage: mlplab " + sub in sub_help.stdout, sub
