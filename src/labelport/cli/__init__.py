"""The ``labelport`` command line: thin commands over ``labelport.service``."""
