DROP TABLE cost_ledger;
