"""Views of a simulation (Bokeh); imported lazily, needs the ``viz`` extra."""

from .raster import raster_figure, save_raster

__all__ = ["raster_figure", "save_raster"]
