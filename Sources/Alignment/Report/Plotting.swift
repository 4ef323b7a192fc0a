// The line plotter lives in the Plotting module so that benchmarks can draw without depending on
// Alignment; re-exported so alignment code and its tests use it as before.
@_exported import Plotting
