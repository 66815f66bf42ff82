"""TODO benchmarks"""
