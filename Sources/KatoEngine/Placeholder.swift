public enum KatoEnginePlaceholder {}
