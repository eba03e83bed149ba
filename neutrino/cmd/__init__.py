"""Console entry points."""

import warnings

# oslo.service warns at import time about an eventlet backend Neutrino never uses.
warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
