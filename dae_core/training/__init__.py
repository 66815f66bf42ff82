"""TODO training"""
