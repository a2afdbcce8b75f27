"""Produce sales (消费扶贫): households and village cooperatives list their produce, staff enter
it and administrators verify it; buyer organizations with a purchase resource order it, pay,
and the household's income is recorded when its staff confirm the payment received."""
