"""h2oGPT's raw-prompt types and base-model names, as data (read by :mod:`h2otui.engines.prompts`).

Taken from h2oGPT's ``src/prompter.py`` (``get_prompt``, ``prompt_type_to_model_name``) and
``src/stopping.py`` (``get_stopping``) at commit a0ad1920a847cf12a4e9c3453f6cdb736fe97ba0, by running
h2oGPT's own code for every ``PromptType`` and reading back what it produced: each entry is a
set of :class:`~h2otui.engines.prompts.PromptTemplate` fields. The renderings these fields must
reproduce are pinned by ``tests/unit/data/h2ogpt_prompts.json`` (also produced by h2oGPT's
code) in ``tests/unit/test_prompts.py``.

Not here: the chat-API types (``openai_chat``, ``anthropic``, ``google``, ``mistralai``,
``groq``: the server renders), ``template`` / ``unknown`` (the model's chat template),
``custom`` (a ``prompt_dict``), and ``dai_faq``, which prompts.py defines itself; prompts.py
also changes where ``gemma`` writes the system prompt (see its docstring for why).
"""

from __future__ import annotations

from typing import Any

H2OGPT_COMMIT = "a0ad1920a847cf12a4e9c3453f6cdb736fe97ba0"

#: PromptTemplate fields of every h2oGPT raw-prompt type, in h2oGPT's enum order
H2OGPT_TEMPLATES: list[dict[str, Any]] = [
    dict(
        name="plain",
        can_handle_system_prompt=False,
    ),
    dict(
        name="instruct",
        preamble=(
            "Below is an instruction that describes a task. Write a response that"
            " appropriately completes the request.\n"
        ),
        pre_instruct="\n### Instruction:\n",
        pre_response="\n### Response:\n",
        humanstr="\n### Instruction:\n",
        botstr="\n### Response:\n",
        can_handle_system_prompt=False,
    ),
    dict(
        name="quality",
        preamble=(
            "Write a detailed high-quality, accurate, fair, Response with about 100"
            " words by following the Instruction.\n"
        ),
        pre_instruct="\n### Instruction:\n",
        pre_response="\n### Response:\n",
        humanstr="\n### Instruction:\n",
        botstr="\n### Response:\n",
        can_handle_system_prompt=False,
    ),
    dict(
        name="human_bot",
        pre_instruct="<human>: ",
        pre_response="<bot>:",
        context_response_space=True,
        terminate_response=("\n<human>:", "\n<bot>:", "<human>:", "<bot>:"),
        humanstr="<human>:",
        botstr="<bot>:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="summarize",
        pre_instruct="## Main Text\n\n",
        pre_response="\n\n## Summary\n\n",
        humanstr="## Main Text\n\n",
        botstr="\n\n## Summary\n\n",
        can_handle_system_prompt=False,
    ),
    dict(
        name="simple_instruct",
        can_handle_system_prompt=False,
    ),
    dict(
        name="instruct_vicuna",
        preamble="{system}",
        pre_instruct="\n### Human:\n",
        pre_response="\n### Assistant:\n",
        terminate_response=(
            "### Human:",
            "###  Human:  ",
            " ###  Human:",
            "###  Assistant:",
        ),
        extra_stops=(
            "\n### Human:",
            "\n### Human:\n",
            "###  Human:",
            "### Assistant:",
            "\n### Assistant:",
            "\n### Assistant:\n",
            "###  Assistant:  ",
        ),
        humanstr="\n### Human:\n",
        botstr="\n### Assistant:\n",
        default_system_prompt=(
            "A chat between a curious human and an artificial intelligence"
            " assistant. The assistant gives helpful, detailed, and polite answers"
            " to the human's questions."
        ),
    ),
    dict(
        name="instruct_with_end",
        preamble=(
            "Below is an instruction that describes a task. Write a response that"
            " appropriately completes the request.\n"
        ),
        pre_instruct="\n### Instruction:\n",
        pre_response="\n### Response:\n",
        terminate_response=("### End",),
        extra_stops=(
            "### Human:",
            "\n### Human:",
            "\n### Human:\n",
            "###  Human:  ",
            "###  Human:",
            "### Assistant:",
            "\n### Assistant:",
            "\n### Assistant:\n",
            "###  Assistant:  ",
            "###  Assistant:",
        ),
        humanstr="\n### Instruction:\n",
        botstr="\n### Response:\n",
        can_handle_system_prompt=False,
    ),
    dict(
        name="human_bot_orig",
        preamble="Current Date: {date}\nCurrent Time: {time}\n\n",
        pre_instruct="<human>: ",
        pre_response="<bot>:",
        context_response_space=True,
        terminate_response=("\n<human>:", "\n<bot>:", "<human>:", "<bot>:"),
        humanstr="<human>:",
        botstr="<bot>:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="prompt_answer",
        pre_instruct="<|prompt|>",
        pre_response="<|answer|>",
        chat_sep="<|endoftext|>",
        chat_turn_sep="<|endoftext|>",
        terminate_response=("<|prompt|>", "<|answer|>", "<|endoftext|>"),
        humanstr="<|prompt|>",
        botstr="<|answer|>",
        can_handle_system_prompt=False,
    ),
    dict(
        name="open_assistant",
        pre_instruct="<|prompter|>",
        pre_response="<|assistant|>",
        chat_sep="</s>",
        chat_turn_sep="</s>",
        terminate_response=("<|prompter|>", "<|assistant|>", "<|prefix_end|>", "</s>"),
        humanstr="<|prompter|>",
        botstr="<|assistant|>",
        can_handle_system_prompt=False,
    ),
    dict(
        name="wizard_lm",
        pre_response="\n\n### Response\n",
        chat_sep="</s>",
        chat_turn_sep="</s>",
        terminate_response=("\n\n### Response\n", "</s>"),
        botstr="\n\n### Response\n",
        can_handle_system_prompt=False,
    ),
    dict(
        name="wizard_mega",
        pre_instruct="\n### Instruction:\n",
        pre_response="\n### Assistant:\n",
        terminate_response=("\n### Assistant:\n",),
        humanstr="\n### Instruction:\n",
        botstr="\n### Assistant:\n",
        can_handle_system_prompt=False,
    ),
    dict(
        name="instruct_vicuna2",
        pre_instruct="\nHUMAN:\n",
        pre_response="\nASSISTANT:\n",
        terminate_response=("HUMAN:",),
        extra_stops=(
            "### HUMAN:",
            "\n### HUMAN:",
            "\n### HUMAN:\n",
            "###  HUMAN:  ",
            "###  HUMAN:",
            "### ASSISTANT:",
            "\n### ASSISTANT:",
            "\n### ASSISTANT:\n",
            "###  ASSISTANT:  ",
            "###  ASSISTANT:",
        ),
        humanstr="\nHUMAN:\n",
        botstr="\nASSISTANT:\n",
        can_handle_system_prompt=False,
    ),
    dict(
        name="instruct_vicuna3",
        pre_instruct="\n### User:\n",
        pre_response="\n### Assistant:\n",
        terminate_response=("### User:",),
        extra_stops=(
            "\n### User:",
            "\n### User:\n",
            "###  User:  ",
            "###  User:",
            "### Assistant:",
            "\n### Assistant:",
            "\n### Assistant:\n",
            "###  Assistant:  ",
            "###  Assistant:",
        ),
        humanstr="\n### User:\n",
        botstr="\n### Assistant:\n",
        can_handle_system_prompt=False,
    ),
    dict(
        name="wizard2",
        preamble="{system}",
        pre_instruct="\n### Instruction:\n",
        pre_response="\n### Response:\n",
        terminate_response=("\n### Response:\n",),
        humanstr="\n### Instruction:\n",
        botstr="\n### Response:\n",
        default_system_prompt=(
            "Below is an instruction that describes a task. Write a response that"
            " appropriately completes the request."
        ),
    ),
    dict(
        name="wizard3",
        preamble="{system}",
        pre_instruct="USER: ",
        pre_response="ASSISTANT: ",
        terminate_response=("ASSISTANT: ",),
        humanstr="USER: ",
        botstr="ASSISTANT: ",
        default_system_prompt=(
            "A chat between a curious user and an artificial intelligence"
            " assistant. The assistant gives helpful, detailed, and polite answers"
            " to the user's questions."
        ),
    ),
    dict(
        name="instruct_simple",
        pre_instruct="\n### Instruction:\n",
        pre_response="\n### Response:\n",
        humanstr="\n### Instruction:\n",
        botstr="\n### Response:\n",
        can_handle_system_prompt=False,
    ),
    dict(
        name="wizard_vicuna",
        pre_instruct="USER: ",
        pre_response="ASSISTANT: ",
        terminate_response=("ASSISTANT: ",),
        humanstr="USER: ",
        botstr="ASSISTANT: ",
        can_handle_system_prompt=False,
    ),
    dict(
        name="openai",
        preamble="{system}",
        pre_instruct="\nHuman: ",
        pre_response="\nAI:",
        terminate_response=("\nAI:", " Human:", " AI:"),
        humanstr="\nHuman: ",
        botstr="\nAI:",
        default_system_prompt=(
            "The following is a conversation with an AI assistant. The assistant is"
            " helpful, creative, clever, and very friendly."
        ),
    ),
    dict(
        name="gptj",
        preamble=(
            "### Instruction:\n The prompt below is a question to answer, a task to"
            " complete, or a conversation to respond to; decide which and write an"
            " appropriate response."
        ),
        pre_instruct="\n### Prompt: ",
        pre_response="\n### Response: ",
        terminate_response=("\n### Response: ", "Prompt:", "Response:"),
        humanstr="\n### Prompt: ",
        botstr="\n### Response: ",
        can_handle_system_prompt=False,
    ),
    dict(
        name="prompt_answer_openllama",
        pre_instruct="<|prompt|>",
        pre_response="<|answer|>",
        chat_sep="</s>",
        chat_turn_sep="</s>",
        terminate_response=("<|prompt|>", "<|answer|>", "</s>"),
        humanstr="<|prompt|>",
        botstr="<|answer|>",
        can_handle_system_prompt=False,
    ),
    dict(
        name="vicuna11",
        preamble="{system} ",
        pre_instruct="USER: ",
        pre_response="ASSISTANT:",
        context_response_space=True,
        chat_sep=" ",
        chat_turn_sep="</s>",
        terminate_response=("ASSISTANT:", "</s>"),
        humanstr="USER: ",
        botstr="ASSISTANT:",
        default_system_prompt=(
            "A chat between a curious user and an artificial intelligence"
            " assistant. The assistant gives helpful, detailed, and polite answers"
            " to the user's questions."
        ),
    ),
    dict(
        name="mptinstruct",
        preamble="{system}\n",
        pre_instruct="\n### Instruction\n",
        pre_response="\n### Response\n",
        humanstr="\n### Instruction\n",
        botstr="\n### Response\n",
        default_system_prompt=(
            "Below is an instruction that describes a task. Write a response that"
            " appropriately completes the request."
        ),
    ),
    dict(
        name="mptchat",
        preamble="<|im_start|>system\n{system}\n<|im_end|>",
        pre_instruct="<|im_start|>user\n",
        pre_response="<|im_end|><|im_start|>assistant\n",
        chat_sep="",
        chat_turn_sep="<|im_end|>",
        terminate_response=("<|im_end|>",),
        humanstr="<|im_start|>user\n",
        botstr="<|im_end|><|im_start|>assistant\n",
        default_system_prompt=(
            "A conversation between a user and an LLM-based AI assistant. The"
            " assistant gives helpful and honest answers."
        ),
    ),
    dict(
        name="falcon",
        pre_instruct="User: ",
        pre_response="Assistant:",
        context_response_space=True,
        chat_sep="\n\n",
        chat_turn_sep="\n\n",
        terminate_response=("\nUser", "<|endoftext|>"),
        humanstr="User: ",
        botstr="Assistant:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="guanaco",
        pre_instruct="### Human: ",
        pre_response="### Assistant:",
        terminate_response=("### Human:",),
        extra_stops=(
            "\n### Human:",
            "\n### Human:\n",
            "###  Human:  ",
            "###  Human:",
            "### Assistant:",
            "\n### Assistant:",
            "\n### Assistant:\n",
            "###  Assistant:  ",
            "###  Assistant:",
        ),
        humanstr="### Human: ",
        botstr="### Assistant:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="llama2",
        system_format="<<SYS>>\n{system}\n<</SYS>>\n\n",
        first_pre_instruct="<s>[INST] {system}",
        pre_instruct="<s>[INST] ",
        pre_response="[/INST]",
        context_response_space=True,
        chat_sep=" ",
        chat_turn_sep=" </s>",
        terminate_response=("[INST]", "</s>"),
        humanstr="[INST]",
        botstr="[/INST]",
        default_system_prompt=(
            "You are a helpful, respectful and honest assistant. Always answer as"
            " helpfully as possible, while being safe. Your answers should not"
            " include any harmful, unethical, racist, sexist, toxic, dangerous, or"
            " illegal content. Please ensure that your responses are socially"
            " unbiased and positive in nature.\n\nIf a question does not make any"
            " sense, or is not factually coherent, explain why instead of answering"
            " something not correct. If you don't know the answer to a question,"
            " please don't share false information."
        ),
    ),
    dict(
        name="beluga",
        preamble="{system}",
        system_format="### System:\n{system}\n\n",
        pre_instruct="### User:\n",
        pre_response="\n### Assistant:\n",
        chat_turn_sep="\n\n",
        terminate_response=("### Assistant:", "</s>"),
        humanstr="### User:",
        botstr="### Assistant:",
        default_system_prompt=(
            "You are Stable Beluga, an AI that follows instructions extremely well."
            " Help as much as you can. Remember, be safe, and don't do anything"
            " illegal."
        ),
    ),
    dict(
        name="wizard3nospace",
        preamble=(
            "A chat between a curious user and an artificial intelligence"
            " assistant. The assistant gives helpful, detailed, and polite answers"
            " to the user's questions."
        ),
        pre_instruct="USER: ",
        pre_response="ASSISTANT:",
        terminate_response=("ASSISTANT:",),
        humanstr="USER: ",
        botstr="ASSISTANT:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="one_shot",
        preamble=(
            "A chat between a curious human and an artificial intelligence"
            " assistant. The assistant gives helpful, detailed, and polite answers"
            " to the human's questions.\n### Human: Got any creative ideas for a 10"
            " year old’s birthday?\n### Assistant: Of course! Here are some"
            " creative ideas for a 10-year-old's birthday party:\n1. Treasure Hunt:"
            " Organize a treasure hunt in your backyard or nearby park. Create"
            " clues and riddles for the kids to solve, leading them to hidden"
            " treasures and surprises.\n2. Science Party: Plan a science-themed"
            " party where kids can engage in fun and interactive experiments. You"
            " can set up different stations with activities like making slime,"
            " erupting volcanoes, or creating simple chemical reactions.\n3."
            " Outdoor Movie Night: Set up a backyard movie night with a projector"
            " and a large screen or white sheet. Create a cozy seating area with"
            " blankets and pillows, and serve popcorn and snacks while the kids"
            " enjoy a favorite movie under the stars.\n4. DIY Crafts Party: Arrange"
            " a craft party where kids can unleash their creativity. Provide a"
            " variety of craft supplies like beads, paints, and fabrics, and let"
            " them create their own unique masterpieces to take home as party"
            " favors.\n5. Sports Olympics: Host a mini Olympics event with various"
            " sports and games. Set up different stations for activities like sack"
            " races, relay races, basketball shooting, and obstacle courses. Give"
            " out medals or certificates to the participants.\n6. Cooking Party:"
            " Have a cooking-themed party where the kids can prepare their own mini"
            " pizzas, cupcakes, or cookies. Provide toppings, frosting, and"
            " decorating supplies, and let them get hands-on in the kitchen.\n7."
            " Superhero Training Camp: Create a superhero-themed party where the"
            " kids can engage in fun training activities. Set up an obstacle"
            " course, have them design their own superhero capes or masks, and"
            " organize superhero-themed games and challenges.\n8. Outdoor"
            " Adventure: Plan an outdoor adventure party at a local park or nature"
            " reserve. Arrange activities like hiking, nature scavenger hunts, or a"
            " picnic with games. Encourage exploration and appreciation for the"
            " outdoors.\nRemember to tailor the activities to the birthday child's"
            " interests and preferences. Have a great celebration!"
        ),
        pre_instruct="\n### Human: ",
        pre_response="\n### Assistant:",
        terminate_response=(
            "### Human:",
            "###  Human:  ",
            " ###  Human:",
            "###  Assistant:",
        ),
        extra_stops=(
            "\n### Human:",
            "\n### Human:\n",
            "###  Human:",
            "### Assistant:",
            "\n### Assistant:",
            "\n### Assistant:\n",
            "###  Assistant:  ",
        ),
        humanstr="\n### Human: ",
        botstr="\n### Assistant:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="falcon_chat",
        preamble="{system}",
        system_format="System: {system}\n",
        pre_instruct="User: ",
        pre_response="Falcon:",
        context_response_space=True,
        terminate_response=("\nUser:", "<|endoftext|>", " User:", "###"),
        humanstr="User: ",
        botstr="Falcon:",
        default_system_prompt="You are an intelligent and helpful assistant.",
    ),
    dict(
        name="mistral",
        first_pre_instruct="<s>[INST] ",
        pre_instruct="[INST] ",
        pre_response="[/INST]",
        chat_sep=" ",
        chat_turn_sep="</s> ",
        terminate_response=("[INST]", "</s>"),
        humanstr="[INST]",
        botstr="[/INST]",
        can_handle_system_prompt=False,
    ),
    dict(
        name="zephyr",
        preamble="{system}",
        system_format="<|system|>\n{system}</s>\n",
        pre_instruct="<|user|>\n",
        pre_response="</s>\n<|assistant|>\n",
        chat_sep="",
        chat_turn_sep="</s>\n",
        terminate_response=("<|assistant|>", "</s>"),
        humanstr="<|user|>",
        botstr="<|assistant|>",
        default_system_prompt=(
            "You are an AI that follows instructions extremely well and as helpful as possible."
        ),
    ),
    dict(
        name="xwin",
        preamble="{system} ",
        pre_instruct="USER: ",
        pre_response="ASSISTANT:",
        context_response_space=True,
        terminate_response=("ASSISTANT:", "</s>"),
        humanstr="USER: ",
        botstr="ASSISTANT:",
        default_system_prompt=(
            "A chat between a curious user and an artificial intelligence"
            " assistant. The assistant gives helpful, detailed, and polite answers"
            " to the user's questions."
        ),
    ),
    dict(
        name="mistrallite",
        pre_instruct="<|prompter|>",
        pre_response="<|assistant|>",
        chat_sep="</s>",
        chat_turn_sep="</s>",
        terminate_response=("<|prompter|>", "<|assistant|>", "<|prefix_end|>", "</s>"),
        humanstr="<|prompter|>",
        botstr="<|assistant|>",
        can_handle_system_prompt=False,
    ),
    dict(
        name="aquila",
        preamble="{system}###",
        pre_instruct="Human: ",
        pre_response="Assistant:",
        context_response_space=True,
        chat_sep="###",
        chat_turn_sep="</s>",
        terminate_response=("###Human:", "###", "</s>", "[UNK]"),
        humanstr="Human: ",
        botstr="Assistant:",
        default_system_prompt=(
            "A chat between a curious human and an artificial intelligence"
            " assistant. The assistant gives helpful, detailed, and polite answers"
            " to the human's questions."
        ),
    ),
    dict(
        name="aquila_simple",
        preamble="{system}",
        pre_instruct="###Human: ",
        pre_response="###Assistant:",
        chat_sep="",
        chat_turn_sep="",
        terminate_response=("###Human:", "###", "</s>", "[UNK]"),
        humanstr="###Human: ",
        botstr="###Assistant:",
        default_system_prompt=(
            "A chat between a curious human and an artificial intelligence"
            " assistant. The assistant gives helpful, detailed, and polite answers"
            " to the human's questions."
        ),
    ),
    dict(
        name="aquila_legacy",
        preamble="{system}",
        pre_instruct="### Human: ",
        pre_response="### Assistant: ",
        chat_turn_sep="</s>",
        terminate_response=("### Human:", "</s>", "[UNK]"),
        humanstr="### Human: ",
        botstr="### Assistant:",
        default_system_prompt=(
            "A chat between a curious human and an artificial intelligence"
            " assistant. The assistant gives helpful, detailed, and polite answers"
            " to the human's questions.\n\n"
        ),
    ),
    dict(
        name="aquila_v1",
        pre_instruct="<|startofpiece|>",
        pre_response="<|endofpiece|>",
        chat_sep="",
        chat_turn_sep="</s>",
        terminate_response=("</s>", "<|endoftext|>"),
        humanstr="<|startofpiece|>",
        botstr="<|endofpiece|>",
        can_handle_system_prompt=False,
    ),
    dict(
        name="mistralgerman",
        preamble="{system} ",
        pre_instruct="USER: ",
        pre_response="ASSISTANT:",
        context_response_space=True,
        terminate_response=("ASSISTANT:", "</s>"),
        humanstr="USER: ",
        botstr="ASSISTANT:",
        default_system_prompt="Du bist ein hilfreicher",
    ),
    dict(
        name="deepseek_coder",
        preamble="{system}",
        pre_instruct="### Instruction:\n",
        pre_response="### Response:\n",
        chat_turn_sep="\n<|EOT|>\n",
        terminate_response=("### Response:\n", "<｜end▁of▁sentence｜>", "<|EOT|>"),
        humanstr="### Instruction:\n",
        botstr="### Response:\n",
        default_system_prompt=(
            "<｜begin▁of▁sentence｜>You are an AI programming assistant, utilizing"
            " the Deepseek Coder model, developed by Deepseek Company, and you only"
            " answer questions related to computer science. For politically"
            " sensitive questions, security and privacy issues, and other"
            " non-computer science questions, you will refuse to answer\n"
        ),
    ),
    dict(
        name="open_chat",
        pre_instruct="GPT4 User: ",
        pre_response="GPT4 Assistant:",
        context_response_space=True,
        chat_sep="<|end_of_turn|>",
        chat_turn_sep="<|end_of_turn|>",
        terminate_response=("GPT4 Assistant:", "<|end_of_turn|>"),
        humanstr="GPT4 User: ",
        botstr="GPT4 Assistant:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="open_chat_correct",
        pre_instruct="GPT4 Correct User: ",
        pre_response="GPT4 Correct Assistant:",
        context_response_space=True,
        chat_sep="<|end_of_turn|>",
        chat_turn_sep="<|end_of_turn|>",
        terminate_response=("GPT4 Correct Assistant:", "<|end_of_turn|>"),
        humanstr="GPT4 Correct User: ",
        botstr="GPT4 Correct Assistant:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="open_chat_code",
        pre_instruct="Code User: ",
        pre_response="Code Assistant:",
        context_response_space=True,
        chat_sep="<|end_of_turn|>",
        chat_turn_sep="<|end_of_turn|>",
        terminate_response=("Code Assistant:", "<|end_of_turn|>"),
        humanstr="Code User: ",
        botstr="Code Assistant:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="orca2",
        preamble="<|im_start|>system\n{system}\n<|im_end|>",
        pre_instruct="<|im_start|>user\n",
        pre_response="<|im_end|><|im_start|>assistant\n",
        chat_sep="",
        chat_turn_sep="<|im_end|>",
        terminate_response=("<|im_end|>",),
        humanstr="<|im_start|>user\n",
        botstr="<|im_end|><|im_start|>assistant\n",
        default_system_prompt=(
            "You are Orca, an AI language model created by Microsoft. You are a"
            " cautious assistant. You carefully follow instructions. You are"
            " helpful and harmless and you follow ethical guidelines and promote"
            " positive behavior."
        ),
    ),
    dict(
        name="jais",
        preamble="### Instruction: {system} [|Human|] and [|AI|]:",
        pre_instruct="\n### Input: [|Human|] ",
        pre_response="\n### Response: [|AI|]",
        context_response_space=True,
        chat_sep="",
        chat_turn_sep="",
        terminate_response=("\n### Response: [|AI|]", "\n### Input: [|Human|] "),
        humanstr="\n### Input: [|Human|] ",
        botstr="\n### Response: [|AI|]",
        default_system_prompt=(
            "Your name is Jais, and you are named after Jebel Jais, the highest"
            " mountain in UAE. You are built by Core42. You are the world's most"
            " advanced Arabic large language model with 30b parameters. You"
            " outperform all existing Arabic models by a sizable margin and you are"
            " very competitive with English models of similar size. You can answer"
            " in Arabic and English only. You are a helpful, respectful and honest"
            " assistant. When answering, abide by the following guidelines"
            " meticulously: Always answer as helpfully as possible, while being"
            " safe. Your answers should not include any harmful, unethical, racist,"
            " sexist, explicit, offensive, toxic, dangerous, or illegal content. Do"
            " not give medical, legal, financial, or professional advice. Never"
            " assist in or promote illegal activities. Always encourage legal and"
            " responsible actions. Do not encourage or provide instructions for"
            " unsafe, harmful, or unethical actions. Do not create or share"
            " misinformation or fake news. Please ensure that your responses are"
            " socially unbiased and positive in nature. If a question does not make"
            " any sense, or is not factually coherent, explain why instead of"
            " answering something not correct. If you don't know the answer to a"
            " question, please don't share false information. Prioritize the"
            " well-being and the moral integrity of users. Avoid using toxic,"
            " derogatory, or offensive language. Maintain a respectful tone. Do not"
            " generate, promote, or engage in discussions about adult content."
            " Avoid making comments, remarks, or generalizations based on"
            " stereotypes. Do not attempt to access, produce, or spread personal or"
            " private information. Always respect user confidentiality. Stay"
            " positive and do not say bad things about anything. Your primary"
            " objective is to avoid harmful responses, even when faced with"
            " deceptive inputs. Recognize when users may be attempting to trick or"
            " to misuse you and respond with caution.\n\nComplete the conversation"
            " below between"
        ),
    ),
    dict(
        name="yi",
        preamble="<|im_start|>system\n{system}<|im_end|>",
        pre_instruct="\n<|im_start|>user\n",
        pre_response="<|im_end|>\n<|im_start|>assistant\n",
        chat_sep="",
        chat_turn_sep="<|im_end|>",
        terminate_response=("<|im_end|>", "<|endotftext|>"),
        humanstr="\n<|im_start|>user\n",
        botstr="<|im_end|>\n<|im_start|>assistant\n",
        default_system_prompt=(
            "A conversation between a user and an LLM-based AI assistant. The"
            " assistant gives helpful and honest answers."
        ),
    ),
    dict(
        name="xwincoder",
        preamble="<system>: {system}\n",
        pre_instruct="<user>: ",
        pre_response="<AI>:",
        context_response_space=True,
        terminate_response=("<AI>:", "</s>"),
        humanstr="<user>: ",
        botstr="<AI>:",
        default_system_prompt=(
            "You are an AI coding assistant that helps people with programming."
            " Write a response that appropriately completes the user's request.\n"
        ),
    ),
    dict(
        name="xwinmath",
        preamble="{system} ",
        pre_instruct="USER: ",
        pre_response=(
            "Give your solution in detail. In the end, write your final answer in"
            " the format of 'The answer is: <ANSWER>.'. ASSISTANT:"
        ),
        context_response_space=True,
        terminate_response=(
            "Give your solution in detail. In the end, write your final answer in the format of 'The answer is: <ANSWER>.'. ASSISTANT:",
            "ASSISTANT:",
            "</s>",
        ),
        humanstr="USER: ",
        botstr=(
            "Give your solution in detail. In the end, write your final answer in"
            " the format of 'The answer is: <ANSWER>.'. ASSISTANT:"
        ),
        default_system_prompt=(
            "A chat between a curious user and an artificial intelligence"
            " assistant. The assistant gives helpful, detailed, and polite answers"
            " to the user's questions."
        ),
    ),
    dict(
        name="vicuna11nosys",
        pre_instruct="USER: ",
        pre_response="ASSISTANT:",
        context_response_space=True,
        chat_sep=" ",
        chat_turn_sep="</s>",
        terminate_response=("ASSISTANT:", "</s>"),
        humanstr="USER: ",
        botstr="ASSISTANT:",
        can_handle_system_prompt=False,
        default_system_prompt=(
            "A chat between a curious user and an artificial intelligence"
            " assistant. The assistant gives helpful, detailed, and polite answers"
            " to the user's questions."
        ),
    ),
    dict(
        name="zephyr0",
        preamble="{system}",
        system_format="<|system|>\n{system}",
        pre_instruct="</s>\n<|user|>\n",
        pre_response="</s>\n<|assistant|>\n",
        chat_turn_sep="</s>\n",
        terminate_response=("<|assistant|>", "</s>"),
        humanstr="<|user|>",
        botstr="<|assistant|>",
        default_system_prompt=(
            "You are an AI that follows instructions extremely well and as helpful as possible."
        ),
    ),
    dict(
        name="docsgpt",
        pre_instruct="### Instruction\n",
        pre_response="### Answer\n",
        terminate_response=("### Answer", "### Instruction"),
        humanstr="### Instruction\n",
        botstr="### Answer\n",
        default_system_prompt=(
            "Below is an instruction that describes a task. Write a response that"
            " appropriately completes the request."
        ),
    ),
    dict(
        name="open_chat_math",
        pre_instruct="Math Correct User: ",
        pre_response="Math Correct Assistant:",
        context_response_space=True,
        chat_sep="<|end_of_turn|>",
        chat_turn_sep="<|end_of_turn|>",
        terminate_response=("Math Correct Assistant:", "<|end_of_turn|>"),
        humanstr="Math Correct User: ",
        botstr="Math Correct Assistant:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="mixtral",
        preamble="{system}",
        system_format="<<SYS>>\n{system}\n<</SYS>>\n\n",
        first_pre_instruct="<s> [INST] ",
        pre_instruct="[INST] ",
        pre_response="[/INST]",
        chat_sep=" ",
        chat_turn_sep="</s> ",
        terminate_response=("[INST]", "</s>"),
        humanstr="[INST]",
        botstr="[/INST]",
        default_system_prompt=(
            "You are an AI that follows instructions extremely well and as helpful as possible."
        ),
    ),
    dict(
        name="mixtralnosys",
        first_pre_instruct="<s> [INST] ",
        pre_instruct="[INST] ",
        pre_response="[/INST]",
        chat_sep=" ",
        chat_turn_sep="</s> ",
        terminate_response=("[INST]", "</s>"),
        humanstr="[INST]",
        botstr="[/INST]",
        can_handle_system_prompt=False,
    ),
    dict(
        name="orion",
        first_pre_instruct="<s>Human: ",
        pre_instruct="</s>Human: ",
        pre_response="\n\nAssistant: </s>",
        chat_sep="",
        chat_turn_sep="",
        terminate_response=("Human:", "</s>", "[UNK]", "Assistant:"),
        humanstr="<s>Human: ",
        botstr="\n\nAssistant: </s>",
        can_handle_system_prompt=False,
    ),
    dict(
        name="sciphi",
        preamble="{system}",
        system_format="### System:\n{system}\n\n",
        pre_instruct="### Instruction:\n",
        pre_response="\n### Response:\n",
        chat_turn_sep="\n\n",
        terminate_response=("### Response:", "</s>", "### Instruction:"),
        humanstr="### Instruction:",
        botstr="### Response:",
        default_system_prompt=(
            "A conversation between a user and an LLM-based AI assistant. The"
            " assistant gives helpful and honest answers."
        ),
    ),
    dict(
        name="beacon",
        pre_instruct="\nQuestion: ",
        pre_response="\nAnswer:",
        context_response_space=True,
        chat_turn_sep="\n\n",
        terminate_response=("Question:", "</s>", "Answer:"),
        humanstr="Question:",
        botstr="Answer:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="beacon2",
        context_response_space=True,
        chat_turn_sep="\n\n",
        terminate_response=("</s>",),
        humanstr="Question:",
        botstr="Answer:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="llava",
        chat_sep="",
        can_handle_system_prompt=False,
    ),
    dict(
        name="danube",
        pre_instruct="<|prompt|>",
        pre_response="<|answer|>",
        chat_sep="</s>",
        chat_turn_sep="</s>",
        terminate_response=("<|prompt|>", "<|answer|>", "</s>"),
        humanstr="<|prompt|>",
        botstr="<|answer|>",
        can_handle_system_prompt=False,
    ),
    dict(
        name="gemma",
        preamble="{system}",
        first_pre_instruct="<bos><start_of_turn>user\n",
        pre_instruct="<start_of_turn>user\n",
        pre_response="<end_of_turn>\n<start_of_turn>model\n",
        chat_sep="",
        chat_turn_sep="<end_of_turn>\n",
        terminate_response=(
            "<bos><start_of_turn>user\n",
            "<end_of_turn>\n<start_of_turn>model\n",
            "<bos>",
            "<end_of_turn>",
        ),
        humanstr="<bos><start_of_turn>user\n",
        botstr="<end_of_turn>\n<start_of_turn>model\n",
        default_system_prompt=("I am Gemma, a conversational chat assistant developed by Google"),
    ),
    dict(
        name="qwen",
        preamble="<|im_start|>system\n{system}<|im_end|>\n",
        pre_instruct="<|im_start|>user\n",
        pre_response="<|im_end|>\n<|im_start|>assistant\n",
        chat_sep="",
        chat_turn_sep="<|im_end|>\n",
        terminate_response=("<|im_end|>",),
        humanstr="<|im_start|>user\n",
        botstr="<|im_end|>\n<|im_start|>assistant\n",
        default_system_prompt=(
            "A conversation between a user and an LLM-based AI assistant. The"
            " assistant gives helpful and honest answers."
        ),
    ),
    dict(
        name="sealion",
        pre_instruct="### USER:\n",
        pre_response="\n\n### RESPONSE:\n",
        chat_turn_sep="\n\n",
        terminate_response=("### RESPONSE:", "</s>", "<|endoftext|>"),
        humanstr="### USER:",
        botstr="### RESPONSE:",
        can_handle_system_prompt=False,
    ),
    dict(
        name="aya",
        preamble="<|im_start|>system\n{system}<|im_end|>\n",
        pre_instruct="<|im_start|>user\n",
        pre_response="<|im_end|>\n<|im_start|>assistant\n",
        chat_sep="",
        chat_turn_sep="<|im_end|>\n",
        terminate_response=("<|im_end|>", "<|im_start|>"),
        humanstr="<|im_start|>user\n",
        botstr="<|im_end|>\n<|im_start|>assistant\n",
        default_system_prompt=(
            "A conversation between a user and an LLM-based AI assistant. The"
            " assistant gives helpful and honest answers."
        ),
    ),
    dict(
        name="idefics2",
        preamble="{system}",
        system_format="System: {system}<end_of_utterance>\n",
        pre_instruct="User: ",
        pre_response="Assistant:",
        context_response_space=True,
        chat_sep="<end_of_utterance>\n",
        chat_turn_sep="<end_of_utterance>\n",
        terminate_response=("User:", "Assistant:"),
        humanstr="User: ",
        botstr="Assistant:",
        default_system_prompt=(
            "You are a helpful, respectful and honest assistant. Always answer as"
            " helpfully as possible, while being safe. Your answers should not"
            " include any harmful, unethical, racist, sexist, toxic, dangerous, or"
            " illegal content. Please ensure that your responses are socially"
            " unbiased and positive in nature."
        ),
    ),
]

#: h2oGPT's prompt_type_to_model_name for the raw-prompt types, in its order (a name listed
#: under two types goes to the later one, as in h2oGPT's inverse map)
H2OGPT_BASE_MODELS: dict[str, tuple[str, ...]] = {
    "plain": (
        "EleutherAI/gpt-j-6B",
        "EleutherAI/pythia-6.9b",
        "EleutherAI/pythia-12b",
        "EleutherAI/pythia-12b-deduped",
        "EleutherAI/gpt-neox-20b",
        "openlm-research/open_llama_7b_700bt_preview",
        "decapoda-research/llama-7b-hf",
        "decapoda-research/llama-13b-hf",
        "decapoda-research/llama-30b-hf",
        "decapoda-research/llama-65b-hf",
        "facebook/mbart-large-50-many-to-many-mmt",
        "philschmid/bart-large-cnn-samsum",
        "philschmid/flan-t5-base-samsum",
        "gpt2",
        "distilgpt2",
        "mosaicml/mpt-7b-storywriter",
        "tiiuae/falcon-7b",
        "tiiuae/falcon-40b",
        "tiiuae/falcon-180B",
        "meta-llama/Llama-2-7b",
        "meta-llama/Llama-2-13b",
        "meta-llama/Llama-2-70b",
        "h2oai/h2ogpt-4096-llama2-7b",
        "h2oai/h2ogpt-4096-llama2-13b",
        "h2oai/h2ogpt-4096-llama2-70b",
        "h2oai/h2ogpt-16k-codellama-7b",
        "h2oai/h2ogpt-16k-codellama-13b",
        "h2oai/h2ogpt-16k-codellama-34b",
        "h2oai/h2ogpt-16k-codellama-7b-python",
        "h2oai/h2ogpt-16k-codellama-13b-python",
        "h2oai/h2ogpt-16k-codellama-34b-python",
        "h2oai/h2ogpt-32k-codellama-34b-python",
        "mistralai/Mistral-7B-v0.1",
        "mistralai/Mixtral-8x7B-v0.1",
    ),
    "gptj": (
        "gptj",
        "gpt4all_llama",
    ),
    "prompt_answer": (
        "h2oai/h2ogpt-gm-oasst1-en-1024-20b",
        "h2oai/h2ogpt-gm-oasst1-en-1024-12b",
        "h2oai/h2ogpt-gm-oasst1-multilang-1024-20b",
        "h2oai/h2ogpt-gm-oasst1-multilang-2048-falcon-7b",
        "h2oai/h2ogpt-gm-oasst1-multilang-2048-falcon-7b-v2",
        "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-7b-v3",
        "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-7b",
        "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-7b-v2",
        "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-40b-v1",
        "h2oai/h2ogpt-gm-oasst1-en-2048-falcon-40b-v2",
        "h2oai/h2ogpt-gm-oasst1-en-xgen-7b-8k",
        "h2oai/h2ogpt-gm-oasst1-multilang-xgen-7b-8k",
        "TheBloke/h2ogpt-gm-oasst1-en-2048-falcon-40b-v2-GPTQ",
    ),
    "prompt_answer_openllama": (
        "h2oai/h2ogpt-gm-oasst1-en-2048-open-llama-7b-preview-300bt",
        "h2oai/h2ogpt-gm-oasst1-en-2048-open-llama-7b-preview-300bt-v2",
        "h2oai/h2ogpt-gm-oasst1-en-2048-open-llama-7b-preview-700bt",
        "h2oai/h2ogpt-gm-oasst1-en-2048-open-llama-7b",
        "h2oai/h2ogpt-gm-oasst1-en-2048-open-llama-13b",
    ),
    "instruct": (
        "TheBloke/llama-30b-supercot-SuperHOT-8K-fp16",
        "TheBloke/Nous-Hermes-13B-GPTQ",
    ),
    "instruct_with_end": ("databricks/dolly-v2-12b",),
    "quality": (),
    "human_bot": (
        "h2oai/h2ogpt-oasst1-512-12b",
        "h2oai/h2ogpt-oasst1-512-20b",
        "h2oai/h2ogpt-oig-oasst1-256-6_9b",
        "h2oai/h2ogpt-oig-oasst1-512-6_9b",
        "h2oai/h2ogpt-oig-oasst1-256-6.9b",
        "h2oai/h2ogpt-oig-oasst1-512-6.9b",
        "h2oai/h2ogpt-research-oasst1-512-30b",
        "h2oai/h2ogpt-research-oasst1-llama-65b",
        "h2oai/h2ogpt-oasst1-falcon-40b",
        "h2oai/h2ogpt-oig-oasst1-falcon-40b",
        "llmware/dragon-mistral-7b-v0",
    ),
    "dai_faq": (),
    "summarize": (),
    "simple_instruct": (
        "t5-small",
        "t5-large",
        "google/flan-t5",
        "google/flan-t5-xxl",
        "google/flan-ul2",
    ),
    "instruct_vicuna": (
        "AlekseyKorshuk/vicuna-7b",
        "TheBloke/stable-vicuna-13B-HF",
        "junelee/wizard-vicuna-13b",
    ),
    "human_bot_orig": ("togethercomputer/GPT-NeoXT-Chat-Base-20B",),
    "open_assistant": (
        "OpenAssistant/oasst-sft-7-llama-30b-xor",
        "oasst-sft-7-llama-30b",
    ),
    "wizard_lm": (
        "ehartford/WizardLM-7B-Uncensored",
        "ehartford/WizardLM-13B-Uncensored",
    ),
    "wizard_mega": ("openaccess-ai-collective/wizard-mega-13b",),
    "instruct_simple": ("JosephusCheung/Guanaco",),
    "wizard_vicuna": ("ehartford/Wizard-Vicuna-13B-Uncensored",),
    "mptinstruct": (
        "mosaicml/mpt-30b-instruct",
        "mosaicml/mpt-7b-instruct",
    ),
    "mptchat": (
        "mosaicml/mpt-7b-chat",
        "mosaicml/mpt-30b-chat",
        "TheBloke/mpt-30B-chat-GGML",
        "TheBloke/Nous-Hermes-2-Mixtral-8x7B-DPO-AWQ",
        "TheBloke/dolphin-2.7-mixtral-8x7b-AWQ",
    ),
    "orca2": (
        "TheBloke/Orca-2-13B-GGUF",
        "microsoft/Orca-2-13b",
    ),
    "vicuna11": (
        "lmsys/vicuna-33b-v1.3",
        "lmsys/vicuna-7b-v1.5",
        "lmsys/vicuna-13b-v1.5",
        "NousResearch/Nous-Capybara-34B",
    ),
    "vicuna11nosys": ("lmsys/vicuna-13b-v1.5-16k",),
    "one_shot": (
        "lmsys/fastchat-t5-3b-v1.0",
        "mistral-community/Mixtral-8x22B-v0.1",
    ),
    "falcon": (
        "tiiuae/falcon-40b-instruct",
        "tiiuae/falcon-7b-instruct",
    ),
    "llama2": (
        "meta-llama/Llama-2-7b-chat-hf",
        "meta-llama/Llama-2-13b-chat-hf",
        "meta-llama/Llama-2-34b-chat-hf",
        "meta-llama/Llama-2-70b-chat-hf",
        "h2oai/h2ogpt-oasst1-4096-llama2-7b",
        "h2oai/h2ogpt-oasst1-4096-llama2-13b",
        "h2oai/h2ogpt-oasst1-4096-llama2-70b",
        "TheBloke/Llama-2-7b-Chat-GPTQ",
        "TheBloke/Llama-2-7b-chat-fp16",
        "TheBloke/Llama-2-13b-chat-fp16",
        "TheBloke/Llama-2-70b-chat-fp16",
        "h2oai/h2ogpt-4096-llama2-7b-chat",
        "h2oai/h2ogpt-4096-llama2-13b-chat",
        "h2oai/h2ogpt-4096-llama2-70b-chat",
        "h2oai/h2ogpt-16k-codellama-7b-instruct",
        "h2oai/h2ogpt-16k-codellama-13b-instruct",
        "h2oai/h2ogpt-16k-codellama-34b-instruct",
        "h2oai/h2ogpt-32k-codellama-34b-instruct",
        "TheBloke/Llama-2-70B-chat-AWQ",
        "h2oai/h2ogpt-4096-llama2-70b-chat-4bit",
        "TheBloke/Llama-2-13B-chat-AWQ",
        "Yukang/LongAlpaca-70B",
        "TheBloke/Llama-2-7B-Chat-GGUF",
        "namespace-Pt/activation-beacon-llama2-7b-chat",
        "abacusai/Smaug-72B-v0.1",
    ),
    "mistral": (
        "mistralai/Mistral-7B-Instruct-v0.1",
        "TheBloke/Mistral-7B-Instruct-v0.1-GGUF",
        "mistralai/Mistral-7B-Instruct-v0.2",
        "TheBloke/Mistral-7B-Instruct-v0.2-GGUF",
    ),
    "mixtral": (
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "TheBloke/Mixtral-8x7B-Instruct-v0.1-GGUF",
        "TheBloke/Mixtral-8x7B-Instruct-v0.1-GPTQ",
        "TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ",
        "ybelkada/Mixtral-8x7B-Instruct-v0.1-AWQ",
    ),
    "mixtralnosys": (),
    "zephyr": (
        "HuggingFaceH4/zephyr-7b-alpha",
        "HuggingFaceH4/zephyr-7b-beta",
        "TheBloke/zephyr-7B-beta-GGUF",
        "TheBloke/zephyr-7B-beta-AWQ",
        "zephyr-7b-beta.Q5_K_M.gguf",
    ),
    "beluga": (
        "stabilityai/StableBeluga2",
        "psmathur/orca_mini_v3_7b",
    ),
    "wizard3nospace": ("WizardLM/WizardLM-13B-V1.2",),
    "falcon_chat": ("tiiuae/falcon-180B-chat",),
    "xwin": (
        "Xwin-LM/Xwin-LM-13B-V0.1",
        "TheBloke/Xwin-LM-13B-V0.1-GPTQ",
        "TheBloke/Xwin-LM-13B-v0.2-GPTQ",
        "Xwin-LM/Xwin-LM-70B-V0.1",
    ),
    "xwincoder": (
        "Xwin-LM/XwinCoder-7B",
        "Xwin-LM/XwinCoder-13B",
        "Xwin-LM/XwinCoder-34B",
    ),
    "xwinmath": (
        "Xwin-LM/Xwin-Math-7B-V1.0",
        "Xwin-LM/Xwin-Math-70B-V1.0",
        "Xwin-LM/Xwin-Math-13B-V1.0",
    ),
    "mistrallite": ("amazon/MistralLite",),
    "aquila": (
        "h2oai/h2ogpt-16k-aquilachat2-34b",
        "BAAI/AquilaChat2-34B-16K",
        "BAAI/AquilaChat2-34B-16k",
        "BAAI/AquilaChat2-7B-16K",
    ),
    "aquila_legacy": ("BAAI/AquilaChat2-34B",),
    "aquila_v1": ("BAAI/AquilaChat2-7B",),
    "mistralgerman": ("TheBloke/em_german_leo_mistral-GPTQ",),
    "deepseek_coder": (
        "deepseek-ai/deepseek-coder-1.3b-instruct",
        "deepseek-ai/deepseek-coder-6.7b-instruct",
        "deepseek-ai/deepseek-coder-33b-instruct",
    ),
    "open_chat": (
        "openchat/openchat_3.5",
        "TheBloke/openchat_3.5-GPTQ",
        "TheBloke/openchat_3.5-GGUF",
        "TheBloke/openchat_3.5-AWQ",
        "TheBloke/openchat_3.5-16k-AWQ",
        "openchat_3.5.Q5_K_M.gguf",
        "NurtureAI/openchat_3.5-16k",
    ),
    "open_chat_correct": (
        "berkeley-nest/Starling-LM-7B-alpha",
        "openchat/openchat-3.5-1210",
        "openchat/openchat_3.5",
        "openchat/openchat_v3.2_super",
        "TheBloke/openchat-3.5-1210-AWQ",
    ),
    "open_chat_code": (),
    "open_chat_math": (),
    "jais": (
        "core42/jais-30b-chat-v1",
        "core42/jais-13b-chat",
    ),
    "yi": (
        "01-ai/Yi-34B-Chat",
        "TheBloke/Yi-34B-Chat-AWQ",
    ),
    "docsgpt": ("Arc53/docsgpt-7b-mistral",),
    "orion": (
        "OrionStarAI/Orion-14B-Chat",
        "OrionStarAI/Orion-14B-LongChat",
        "OrionStarAI/Orion-14B-Chat-RAG",
    ),
    "sciphi": ("SciPhi/SciPhi-Self-RAG-Mistral-7B-32k",),
    "beacon": (),
    "beacon2": (),
    "llava": (
        "liuhaotian/llava-v1.6-34b",
        "liuhaotian/llava-v1.6-mistral-7b",
        "liuhaotian/llava-v1.6-vicuna-13b",
        "liuhaotian/llava-v1.6-vicuna-7b",
        "liuhaotian/llava-v1.5-13b",
        "liuhaotian/llava-v1.5-7b",
        "NousResearch/Nous-Hermes-2-Vision",
    ),
    "danube": ("h2oai/h2o-danube-1.8b-chat",),
    "gemma": (
        "gg-hf/gemma-2b-it",
        "gg-hf/gemma-7b-it",
        "google/gemma-2b-it",
        "google/gemma-7b-it",
    ),
    "qwen": (
        "Qwen/Qwen1.5-7B-Chat-GPTQ-Int8",
        "Qwen/Qwen1.5-7B-Chat-GPTQ-Int4",
        "Qwen/Qwen1.5-7B-Chat-AWQ",
        "Qwen/Qwen1.5-7B-Chat",
        "Qwen/Qwen1.5-72B-Chat-GPTQ-Int8",
        "Qwen/Qwen1.5-72B-Chat-GPTQ-Int4",
        "Qwen/Qwen1.5-72B-Chat-AWQ",
        "Qwen/Qwen1.5-72B-Chat",
        "Qwen/Qwen1.5-4B-Chat-GPTQ-Int8",
        "Qwen/Qwen1.5-4B-Chat-GPTQ-Int4",
        "Qwen/Qwen1.5-4B-Chat-AWQ",
        "Qwen/Qwen1.5-4B-Chat",
        "Qwen/Qwen1.5-14B-Chat-GPTQ-Int8",
        "Qwen/Qwen1.5-14B-Chat-GPTQ-Int4",
        "Qwen/Qwen1.5-14B-Chat-AWQ",
        "Qwen/Qwen1.5-14B-Chat",
        "Qwen/Qwen1.5-1.8B-Chat-GPTQ-Int8",
        "Qwen/Qwen1.5-1.8B-Chat-GPTQ-Int4",
        "Qwen/Qwen1.5-1.8B-Chat-AWQ",
        "Qwen/Qwen1.5-1.8B-Chat",
        "Qwen/Qwen1.5-0.5B-Chat-GPTQ-Int8",
        "Qwen/Qwen1.5-0.5B-Chat-GPTQ-Int4",
        "Qwen/Qwen1.5-0.5B-Chat-AWQ",
        "Qwen/Qwen1.5-0.5B-Chat",
        "Qwen/Qwen1.5-72B-Chat-GGUF",
        "Qwen/Qwen1.5-14B-Chat-GGUF",
        "Qwen/Qwen1.5-7B-Chat-GGUF",
        "Qwen/Qwen1.5-4B-Chat-GGUF",
        "Qwen/Qwen1.5-1.8B-Chat-GGUF",
        "Qwen/Qwen1.5-0.5B-Chat-GGUF",
    ),
    "sealion": ("aisingapore/sea-lion-7b-instruct",),
    "aya": ("CohereForAI/aya-101",),
    "idefics2": (
        "HuggingFaceM4/idefics2-8b-chatty",
        "HuggingFaceM4/idefics2-8b-chat",
    ),
    "openai": (
        "text-davinci-003",
        "text-curie-001",
        "text-babbage-001",
        "text-ada-001",
    ),
}
