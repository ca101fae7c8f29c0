//! Which OpenAI API a request is for.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Chat,
    Embeddings,
    /// Legacy text completions (`prompt` in, `text` out): base models served by vLLM/SGLang.
    Completions,
}

impl Endpoint {
    /// The GenAI semantic conventions' `gen_ai.operation.name`.
    pub fn operation(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Embeddings => "embeddings",
            Self::Completions => "text_completion",
        }
    }

    /// The path under an OpenAI-compatible base URL.
    pub fn path(self) -> &'static str {
        match self {
            Self::Chat => "chat/completions",
            Self::Embeddings => "embeddings",
            Self::Completions => "completions",
        }
    }

    /// The route clients call, for error messages.
    pub fn route(self) -> &'static str {
        match self {
            Self::Chat => "/chat/completions",
            Self::Embeddings => "/embeddings",
            Self::Completions => "/completions",
        }
    }

    /// Whether answers can be streamed.
    pub fn streams(self) -> bool {
        self != Self::Embeddings
    }
}
