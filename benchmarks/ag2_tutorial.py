"""The tutorial's example in AutoGen 0.2 (ag2 0.3.2, the pyautogen 0.2 line): run by benchmarks/.venv-ag2's Python.

Usage: python ag2_tutorial.py BASE_URL WORK_DIR DATA_FILE
"""

import sys

from autogen import AssistantAgent, UserProxyAgent

base_url, work_dir, data = sys.argv[1:4]
assistant = AssistantAgent(
    "assistant",
    llm_config={"config_list": [{"model": "fake", "base_url": base_url, "api_key": "x"}], "cache_seed": None},
)
user_proxy = UserProxyAgent(
    "user_proxy",
    human_input_mode="NEVER",
    max_consecutive_auto_reply=10,
    is_termination_msg=lambda x: (x.get("content") or "").rstrip().endswith("TERMINATE"),
    code_execution_config={"work_dir": work_dir, "use_docker": False},
)
user_proxy.initiate_chat(assistant, message=f"Please analyse the data file {data} and produce a summary report.")
