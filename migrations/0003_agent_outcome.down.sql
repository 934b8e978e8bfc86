DROP TABLE agent_outcomes;
