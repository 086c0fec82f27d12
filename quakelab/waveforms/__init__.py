"""Waveforms through ObsPy: reading, explicit gap policies, recorded processing chains, detection,
picking and detection scoring. Results are ObsPy streams and pandas DataFrames."""

from quakelab.waveforms.detection import (
    characteristic_function,
    coincidence,
    detect,
    pick_ar,
    pick_baer,
    score_detections,
    tune_stalta,
)
from quakelab.waveforms.features import ppsd, window_features
from quakelab.waveforms.fetch import fetch_waveforms
from quakelab.waveforms.io import WaveformError, apply_gap_policy, example_path, gaps_report, read_waveforms
from quakelab.waveforms.processing import ALLOWED_STEPS, ProcessingChain

__all__ = [
    "ALLOWED_STEPS",
    "ProcessingChain",
    "WaveformError",
    "apply_gap_policy",
    "characteristic_function",
    "coincidence",
    "detect",
    "example_path",
    "fetch_waveforms",
    "gaps_report",
    "pick_ar",
    "pick_baer",
    "ppsd",
    "read_waveforms",
    "score_detections",
    "tune_stalta",
    "window_features",
]
