"""Views of a simulation: a static raster (Bokeh) and live dashboards
(Panel).  Needs the ``viz`` extra: ``pip install 'snnlab[viz]'``."""

from .apps import APPS, brunel_dashboard, serve, topographic_map_dashboard
from .live import SPEEDS, Control, Dashboard, input_rate, parameter, plasticity, weight
from .raster import raster_figure, save_raster
from .training import TrainingView
from .views import Connectivity, Membrane, Raster, Rates, TopographicMap, View

__all__ = ["raster_figure", "save_raster", "Dashboard", "Control", "input_rate", "weight",
           "parameter", "plasticity", "SPEEDS", "View", "Raster", "Rates", "Membrane",
           "Connectivity", "TopographicMap", "APPS", "serve", "brunel_dashboard",
           "topographic_map_dashboard", "TrainingView"]
