"""TODO studies"""
