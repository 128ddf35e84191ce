"""The covenant as a whole: the register of production locations (matched across companies
and years, published once a year), the signals passed to the companies that use a location, and
the progress figures. README: "The covenant as a whole"."""
